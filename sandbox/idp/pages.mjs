// The sandbox IdP's own sign-in pages, shaped like Entra's: an account picker listing the demo
// accounts with their roles (and a field for any other name), and a consent page that names each
// permission in words, grouped by API. Every value from a request is escaped before it is shown.

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
})[c]);

// The demo accounts, and the role each gets (see `rolesOf` in server.mjs: the name decides).
export const DEMO_ACCOUNTS = [
  { login: 'alice', name: 'Alice Analyst', role: 'Security Operator' },
  { login: 'reader', name: 'Riley Reader', role: 'Security Reader' },
  { login: 'norole', name: 'Noah Norole', role: 'No security role' },
];

// The words Entra shows for each permission: the OpenID scopes, then each API's delegated permissions
// (their user-consent display names).
const OIDC_WORDS = {
  openid: 'Sign you in',
  profile: 'View your basic profile',
  email: 'View your email address',
  offline_access: 'Maintain access to data you have given it access to',
};
const API_WORDS = {
  'https://graph.microsoft.com': {
    title: 'Microsoft Graph',
    scopes: {
      'SecurityIncident.Read.All': 'Read incidents in your organization',
      'SecurityIncident.ReadWrite.All': 'Read and write to incidents in your organization',
    },
  },
  'https://api.security.microsoft.com': {
    title: 'Microsoft Threat Protection',
    scopes: {
      'Incident.Read': 'Read incidents',
      'Incident.ReadWrite': 'Read and write incidents',
    },
  },
};

const STYLE = `
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f2f2f2;
         font: 15px "Segoe UI", system-ui, sans-serif; color: #1b1b1b; }
  main { width: 440px; max-width: calc(100vw - 32px); background: #fff; padding: 44px;
         box-shadow: 0 2px 6px rgba(0,0,0,.2); box-sizing: border-box; }
  .tenant { font-weight: 600; color: #505050; margin-bottom: 16px; }
  h1 { font-size: 24px; font-weight: 600; margin: 0 0 16px; }
  .account { display: flex; width: 100%; gap: 12px; align-items: center; text-align: left;
             background: none; border: 0; border-top: 1px solid #e6e6e6; padding: 12px 8px;
             font: inherit; cursor: pointer; }
  .account:hover, .account:focus { background: #f2f2f2; }
  .avatar { width: 40px; height: 40px; border-radius: 50%; background: #0067b8; color: #fff;
            display: grid; place-items: center; font-weight: 600; flex: none; }
  .who { display: flex; flex-direction: column; }
  .upn, .role, .note { color: #505050; font-size: 13px; }
  .role { color: #0067b8; }
  label { display: block; margin: 20px 0 6px; }
  input[type=text] { width: 100%; box-sizing: border-box; padding: 6px 0; font: inherit;
                     border: 0; border-bottom: 1px solid #666; }
  .buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 24px; }
  .buttons button { min-width: 108px; padding: 6px 12px; font: inherit; border: 0; cursor: pointer;
                    background: #ccc; }
  .buttons button.primary { background: #0067b8; color: #fff; }
  h2 { font-size: 15px; font-weight: 600; margin: 16px 0 4px; }
  ul { margin: 0; padding-left: 20px; }
  li { margin: 4px 0; }
`;

function page(title, tenantName, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body><main>
<div class="tenant">${escape(tenantName)}</div>
${body}
</main></body></html>`;
}

/** "Pick an account": a tile per demo account, and a field for any other name. */
export function accountPicker({ action, abort, tenantName, domain, loginHint }) {
  const hint = loginHint ? String(loginHint).split('@')[0].toLowerCase() : '';
  const tiles = DEMO_ACCOUNTS.map((a) => `
  <button class="account" type="submit" name="login" value="${escape(a.login)}"${a.login === hint ? ' autofocus' : ''}>
    <span class="avatar" aria-hidden="true">${escape(a.name[0])}</span>
    <span class="who"><span>${escape(a.name)}</span>
      <span class="upn">${escape(`${a.login}@${domain}`)}</span>
      <span class="role">${escape(a.role)}</span></span>
  </button>`).join('');
  const other = hint && !DEMO_ACCOUNTS.some((a) => a.login === hint) ? loginHint : '';
  return page('Sign in to your account', tenantName, `
<h1>Pick an account</h1>
<form method="post" action="${escape(action)}">${tiles}
</form>
<form method="post" action="${escape(action)}">
  <label for="other">Use another account</label>
  <input id="other" type="text" name="login" autocomplete="username" placeholder="name or name@${escape(domain)}" value="${escape(other)}" required>
  <p class="note">Names starting with "reader" are Security Readers, "norole" has no security role,
  any other name is a Security Operator.</p>
  <div class="buttons"><button class="primary" type="submit">Next</button></div>
</form>
<form method="post" action="${escape(abort)}">
  <div class="buttons"><button type="submit">Cancel</button></div>
</form>`);
}

/** The permissions requested, in words: the OpenID ones, then each API's. */
export function permissionWords(oidcScopes, resourceScopes) {
  const lines = [];
  const general = [...new Set(oidcScopes)].filter((s) => OIDC_WORDS[s]).map((s) => OIDC_WORDS[s]);
  for (const [resource, scopes] of Object.entries(resourceScopes)) {
    const api = API_WORDS[resource];
    const names = [...new Set(scopes.map((s) => s.replace(`${resource}/`, '')))];
    const words = names.map((s) => api?.scopes[s] ?? (s === '.default' ? null : s)).filter(Boolean);
    if (words.length) lines.push({ title: api?.title ?? resource, words });
  }
  if (general.length) lines.push({ title: 'Your account', words: general });
  return lines;
}

/** "Permissions requested": the app, the account, each permission in words, Cancel and Accept. */
export function consentPage({ action, abort, tenantName, appName, account, permissions }) {
  const groups = permissions.map((g) => `<h2>${escape(g.title)}</h2>
<ul>${g.words.map((w) => `<li>${escape(w)}</li>`).join('')}</ul>`).join('\n');
  return page('Permissions requested', tenantName, `
<div class="upn">${escape(account)}</div>
<h1>Permissions requested</h1>
<p><strong>${escape(appName)}</strong><br><span class="note">unverified</span></p>
<p>This app would like to:</p>
${groups}
<p class="note">Accepting these permissions means that you allow this app to use your data as specified
in their terms of service and privacy statement. You can change these permissions at any time in My Apps.</p>
<div class="buttons">
  <form method="post" action="${escape(abort)}"><button type="submit">Cancel</button></form>
  <form method="post" action="${escape(action)}"><button class="primary" type="submit">Accept</button></form>
</div>`);
}

/** An error the IdP shows in the browser instead of redirecting (a bad redirect URI, an unknown client). */
export function errorPage({ tenantName, error, description }) {
  return page('Sign in', tenantName, `
<h1>Sorry, but we're having trouble signing you in.</h1>
<p>${escape(description ?? '')}</p>
<p class="note">Error: ${escape(error ?? 'server_error')}</p>`);
}
