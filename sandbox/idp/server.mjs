// The sandbox tenant's identity provider: oidc-provider configured to behave like Microsoft Entra ID
// for the clients Incident Desk uses. Not a mock: a certified OpenID Provider with Entra's shapes.
//
// - issuer `http://127.0.0.1:PORT/<tenant>/v2.0`, discovery under it, like an Entra tenant authority;
// - a native public client (any loopback port, PKCE S256 required) and two confidential app clients:
//   one with a client secret, one with a certificate (a client assertion signed with its key, found
//   by its SHA-256 thumbprint `x5t#S256` and addressed to the token endpoint, as Entra requires);
// - a refused client credential answers like Entra: 401 invalid_client with AADSTS7000215 (wrong
//   secret) or AADSTS700027 (assertion not signed by a registered certificate);
// - Entra-style scopes without a `resource` parameter (`https://graph.microsoft.com/SecurityIncident.Read.All`),
//   JWT access tokens with aud, tid, oid, scp, wids (directory roles), typ JWT;
// - refresh tokens without prompt=consent, rotating on use;
// - demo accounts: names starting with "reader" are Security Readers, "norole" has no security role,
//   anyone else is a Security Operator (triage analyst);
// - its own sign-in pages, like Entra's: an account picker with the demo accounts and their roles,
//   then a consent page naming the permissions in words. Consent is remembered per account and app,
//   as Entra does: signing in again (after a sign-out, in a new browser) does not ask again, unless
//   the app asks for a permission not yet consented to, or sends prompt=consent;
// - with SANDBOX_STATE_DIR set, keys and grants persist there, so a restarted sandbox still honours a
//   refresh token (what `make run` needs for silent sign-in across app restarts).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import Provider, { errors, interactionPolicy } from 'oidc-provider';
import { DEMO_ACCOUNTS, accountPicker, consentPage, errorPage, permissionWords } from './pages.mjs';

export const GRAPH = 'https://graph.microsoft.com';
export const DEFENDER = 'https://api.security.microsoft.com';
const DOMAIN = 'contoso-sandbox.test';
const TENANT_NAME = 'Contoso (sandbox tenant)';
const RESOURCE_SCOPES = {
  [GRAPH]: ['SecurityIncident.Read.All', 'SecurityIncident.ReadWrite.All'],
  [DEFENDER]: ['Incident.Read', 'Incident.ReadWrite'],
};
// Application permissions granted to the app client, per resource (admin-consented in a real tenant).
const APP_ROLES = {
  [GRAPH]: ['SecurityIncident.Read.All', 'SecurityIncident.ReadWrite.All'],
  [DEFENDER]: ['Incident.Read.All', 'Incident.ReadWrite.All'],
};
// Entra directory role template IDs, as they appear in the `wids` claim.
export const ROLES = {
  securityReader: '5d6b6bb7-de71-4623-b4af-96380a352509',
  securityOperator: '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
};

const oidOf = (sub) => crypto.createHash('sha256').update(sub).digest('hex')
  .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, '$1-$2-$3-$4-$5');

function rolesOf(sub) {
  if (sub.startsWith('norole')) return [];
  if (sub.startsWith('reader')) return [ROLES.securityReader];
  return [ROLES.securityOperator];
}

// A JSON-file adapter (one file per model) when a state dir is given; memory otherwise.
function makeAdapter(stateDir) {
  const stores = new Map();
  return class Adapter {
    constructor(name) {
      this.name = name;
      this.file = stateDir ? path.join(stateDir, `${name}.json`) : null;
      if (!stores.has(name)) {
        let data = {};
        if (this.file && fs.existsSync(this.file)) {
          try { data = JSON.parse(fs.readFileSync(this.file, 'utf8')); } catch { data = {}; }
        }
        stores.set(name, new Map(Object.entries(data)));
      }
      this.map = stores.get(name);
    }
    flush() {
      if (!this.file) return;
      const now = Date.now() / 1000;
      for (const [k, v] of this.map) if (v.exp && v.exp < now) this.map.delete(k);
      fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(Object.fromEntries(this.map)));
      fs.renameSync(`${this.file}.tmp`, this.file);
    }
    async upsert(id, payload, expiresIn) {
      this.map.set(id, { payload, exp: expiresIn ? Date.now() / 1000 + expiresIn : undefined });
      this.flush();
    }
    async find(id) {
      const e = this.map.get(id);
      if (!e || (e.exp && e.exp < Date.now() / 1000)) return undefined;
      return e.payload;
    }
    async findByUid(uid) {
      for (const e of this.map.values()) if (e.payload.uid === uid) return e.payload;
      return undefined;
    }
    async findByUserCode(code) {
      for (const e of this.map.values()) if (e.payload.userCode === code) return e.payload;
      return undefined;
    }
    async consume(id) {
      const e = this.map.get(id);
      if (e) { e.payload.consumed = Math.floor(Date.now() / 1000); this.flush(); }
    }
    async destroy(id) { this.map.delete(id); this.flush(); }
    async revokeByGrantId(grantId) {
      for (const [k, e] of this.map) if (e.payload.grantId === grantId) this.map.delete(k);
      this.flush();
    }
  };
}

function signingKey(stateDir) {
  const file = stateDir && path.join(stateDir, 'signing-key.json');
  if (file && fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
  if (file) fs.writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}

// What each account consented to, per client: { "<account> <client>": { oidc: [...], resources: { <resource>: [...] } } }.
// Entra keeps consent per user and application, not per browser session; kept in the state dir.
function makeConsents(stateDir) {
  const file = stateDir && path.join(stateDir, 'consents.json');
  let data = {};
  if (file && fs.existsSync(file)) {
    try { data = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { data = {}; }
  }
  const key = (accountId, clientId) => `${accountId} ${clientId}`;
  return {
    get: (accountId, clientId) => data[key(accountId, clientId)],
    remember(accountId, clientId, oidc = [], resources = {}) {
      const had = data[key(accountId, clientId)] ?? { oidc: [], resources: {} };
      const merged = { oidc: [...new Set([...had.oidc, ...oidc])], resources: { ...had.resources } };
      for (const [r, scopes] of Object.entries(resources)) merged.resources[r] = [...new Set([...(had.resources[r] ?? []), ...scopes])];
      data[key(accountId, clientId)] = merged;
      if (file) {
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(data));
        fs.renameSync(`${file}.tmp`, file);
      }
    },
  };
}

// oidc-provider's prompts, less the consent it asks of native clients on every sign-in: Entra asks
// only for permissions the account has not consented to.
function entraPolicy() {
  const policy = interactionPolicy.base();
  policy.get('consent').checks.remove('native_client_prompt');
  return policy;
}

const readForm = async (req) => {
  let body = '';
  for await (const c of req) {
    body += c;
    if (body.length > 16384) throw new Error('form too large');
  }
  return new URLSearchParams(body);
};

// The certificate app's credential: a self-signed RSA certificate and its key, as an administrator
// would make with openssl and upload under "Certificates & secrets". The PEM (key + certificate) is
// written for the analyst to hand to Incident Desk; the IdP keeps the certificate's public key and
// its SHA-256 thumbprint, the way Entra lists a registered certificate.
function appCertificate(dir) {
  const file = path.join(dir, 'app-certificate.pem');
  if (!fs.existsSync(file)) {
    const key = path.join(dir, 'app-key.tmp');
    const cert = path.join(dir, 'app-cert.tmp');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-subj', '/CN=Incident Desk sandbox application', '-days', '365'], { stdio: 'ignore' });
    fs.writeFileSync(file, fs.readFileSync(key, 'utf8') + fs.readFileSync(cert, 'utf8'), { mode: 0o600 });
    fs.rmSync(key);
    fs.rmSync(cert);
  }
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(fs.readFileSync(file, 'utf8'))[0];
  const x509 = new crypto.X509Certificate(pem);
  return {
    file,
    thumbprint: crypto.createHash('sha256').update(x509.raw).digest('base64url'),
    jwk: { ...x509.publicKey.export({ format: 'jwk' }), use: 'sig' },
  };
}

// Entra accepts `offline_access` in a refresh request's scope (its clients send it); oidc-provider
// keeps it off the refresh token unless the sign-in sent prompt=consent, and then refuses it. Drop it
// from refresh requests: the refresh grant issues a new refresh token either way.
async function entraRefreshScope(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  if (form.get('grant_type') === 'refresh_token' && form.has('scope')) {
    form.set('scope', form.get('scope').split(' ').filter((s) => s && s !== 'offline_access').join(' '));
  }
  const body = Buffer.from(form.toString());
  const copy = Readable.from([body]);
  Object.assign(copy, {
    headers: { ...req.headers, 'content-length': String(body.length) },
    rawHeaders: req.rawHeaders, method: req.method, url: req.url, httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor, httpVersionMinor: req.httpVersionMinor,
    socket: req.socket, connection: req.socket, complete: true, form,
  });
  return copy;
}

// oidc-provider refuses a bad client credential with a bare `invalid_client`; Entra answers 401 with
// the AADSTS code that says which credential failed. Rewrites that answer into Entra's shape.
function entraClientErrors(form, res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (res.statusCode === 401 && chunk && !res.headersSent) {
      let body = null;
      try { body = JSON.parse(chunk.toString()); } catch { /* not JSON: leave it */ }
      if (body?.error === 'invalid_client') {
        const [code, text] = form.has('client_assertion')
          ? [700027, 'Client assertion failed signature validation, or its certificate is not registered on the application.']
          : [7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.'];
        const trace = crypto.randomUUID();
        const correlation = crypto.randomUUID();
        chunk = JSON.stringify({
          error: 'invalid_client', error_codes: [code], trace_id: trace, correlation_id: correlation,
          timestamp: new Date().toISOString(),
          error_description: `AADSTS${code}: ${text} Trace ID: ${trace} Correlation ID: ${correlation}`,
        });
        res.setHeader('content-length', Buffer.byteLength(chunk));
      }
    }
    return end(chunk, ...rest);
  };
}

// The sandbox's control plane, outside the issuer path (tests and demos use it; apps never do):
//   POST   /_sandbox/fault  {"endpoint":"authorize"|"token","error":"invalid_client","code":7000218,"times":1}
//          the next `times` requests to that endpoint (default: until cleared) answer like Entra with
//          that error: a redirect with error + "AADSTS<code>: ..." description for `authorize`, a 400
//          (401 for invalid_client) JSON body with error_codes for `token`.
//          With "delayMs", the answer (the fault's, or the provider's when "error" is absent) comes
//          that much later: a token request still in flight while the app does something else.
//   DELETE /_sandbox/fault  clears faults;  GET /_sandbox/stats  counts token grants by type, and
//          every token request (answered or refused) under "requests".
//   POST   /_sandbox/rotate-keys  rotates the signing key, as Entra does: tokens are signed with a
//          new key, published first in the JWKS beside the old one.
function makeControl(log) {
  const faults = new Map();
  const stats = {};
  const requests = { token: 0 };
  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const take = (endpoint) => {
    const f = faults.get(endpoint);
    if (!f) return null;
    if (f.times !== undefined && --f.times <= 0) faults.delete(endpoint);
    return f;
  };
  const describe = (f) => `AADSTS${f.code ?? 0}: ${f.description ?? 'Sandbox fault.'} Trace ID: ${crypto.randomUUID()} Correlation ID: ${crypto.randomUUID()} Timestamp: ${new Date().toISOString().replace('T', ' ').slice(0, 19)}Z`;
  return {
    count(grantType) { stats[grantType] = (stats[grantType] ?? 0) + 1; },
    countRequest(endpoint) { requests[endpoint] += 1; },
    onRotate: null,
    async handle(req, res) {
      const path = req.url.split('?')[0];
      if (path === '/_sandbox/stats' && req.method === 'GET') return json(res, 200, { grants: stats, requests });
      if (path === '/_sandbox/rotate-keys' && req.method === 'POST') {
        const kid = this.onRotate();
        log('keys rotated', kid);
        return json(res, 200, { kid });
      }
      if (path === '/_sandbox/fault' && req.method === 'DELETE') { faults.clear(); return json(res, 200, {}); }
      if (path === '/_sandbox/fault' && req.method === 'POST') {
        let body = '';
        for await (const c of req) body += c;
        try {
          const f = JSON.parse(body);
          if (!['authorize', 'token'].includes(f.endpoint)) throw new Error('endpoint is required');
          if (typeof f.error !== 'string' && !(f.endpoint === 'token' && f.delayMs)) throw new Error('error is required (or delayMs, for token)');
          faults.set(f.endpoint, f);
          log('fault set', f.endpoint, f.error, f.code ?? '');
          return json(res, 200, f);
        } catch (e) {
          return json(res, 400, { error: e.message });
        }
      }
      return json(res, 404, { error: 'not found' });
    },
    // Holds a token request back when a delay is set for it; a delay-only fault is then used up.
    async delay(req, issuerPath) {
      const u = new URL(req.url, 'http://sandbox');
      if (req.method !== 'POST' || u.pathname !== `${issuerPath}/token`) return;
      const f = faults.get('token');
      if (!f?.delayMs) return;
      if (typeof f.error !== 'string') take('token');
      await new Promise((r) => setTimeout(r, f.delayMs));
    },
    // Answers with a fault instead of the provider, when one is set for this endpoint.
    inject(req, res, issuerPath) {
      const u = new URL(req.url, 'http://sandbox');
      if (req.method === 'GET' && u.pathname === `${issuerPath}/auth`) {
        const redirect = u.searchParams.get('redirect_uri');
        if (!redirect || !faults.has('authorize')) return false;
        const f = take('authorize');
        const to = new URL(redirect);
        to.searchParams.set('error', f.error);
        to.searchParams.set('error_description', describe(f));
        if (u.searchParams.get('state')) to.searchParams.set('state', u.searchParams.get('state'));
        res.writeHead(302, { location: to.toString() });
        res.end();
        return true;
      }
      if (req.method === 'POST' && u.pathname === `${issuerPath}/token` && typeof faults.get('token')?.error === 'string') {
        const f = take('token');
        json(res, f.status ?? (f.error === 'invalid_client' ? 401 : 400), {
          error: f.error, error_description: describe(f), error_codes: [f.code ?? 0],
          timestamp: new Date().toISOString(), trace_id: crypto.randomUUID(), correlation_id: crypto.randomUUID(),
        });
        req.resume();
        return true;
      }
      return false;
    },
  };
}

/** Starts the IdP; resolves to { issuer, tenant, clientId, appClientId, appClientSecret, close }. */
export async function startIdp({
  port = 0,
  tenant = '7f3c1a52-9d1e-4c8b-a2f0-5e6d7c8b9a01',
  clientId = '0c5d2a8e-6b1f-4f3a-9e7d-2b4c6a8e0f11',
  appClientId = '5e9b7c3a-1d2f-4a6b-8c0e-9f8e7d6c5b22',
  appClientSecret = crypto.randomBytes(24).toString('base64url'),
  appCertClientId = '8a1d4f6e-3c2b-4e9a-b7d5-0f1e2d3c4b33',
  stateDir = process.env.SANDBOX_STATE_DIR || null,
  log = (...a) => console.error('[idp]', ...a),
} = {}) {
  if (stateDir) fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // Without a state dir, the certificate lives in a temporary folder removed on close.
  const certDir = stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'idesk-sandbox-'));
  const certificate = appCertificate(certDir);
  const server = http.createServer();
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve); });
  const issuerPath = `/${tenant}/v2.0`;
  const issuer = `http://127.0.0.1:${server.address().port}${issuerPath}`;

  const consents = makeConsents(stateDir);
  const resourceOf = (scope = '') => (scope.includes(`${DEFENDER}/`) ? DEFENDER : GRAPH);
  const configuration = {
    clients: [
      {
        client_id: clientId,
        application_type: 'native', // any port on a loopback redirect URI (RFC 8252 §7.3), like Entra
        token_endpoint_auth_method: 'none', // public client: PKCE required
        redirect_uris: ['http://localhost', 'http://127.0.0.1'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: appClientId,
        client_secret: appClientSecret,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
      {
        client_id: appCertClientId,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [certificate.jwk] },
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ],
    // Entra finds the signing certificate by its thumbprint and wants the token endpoint as audience.
    async assertJwtClientAuthClaimsAndHeader(ctx, claims, header, client) {
      if (client.clientId !== appCertClientId) return;
      if (header['x5t#S256'] !== certificate.thumbprint) {
        throw new errors.InvalidClientAuth('the certificate used to sign the client assertion is not registered on the application');
      }
      if (claims.aud !== `${issuer}/token`) throw new errors.InvalidClientAuth('the client assertion is not addressed to the token endpoint');
    },
    adapter: makeAdapter(stateDir),
    jwks: { keys: [signingKey(stateDir)] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub', 'tid', 'oid'], profile: ['name', 'preferred_username'], email: ['email'] },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          const upn = sub.includes('@') ? sub : `${sub}@${DOMAIN}`;
          const name = DEMO_ACCOUNTS.find((a) => a.login === sub.split('@')[0])?.name ?? `Sandbox ${sub.split('@')[0]}`;
          return { sub, name, preferred_username: upn, email: upn, oid: oidOf(sub), tid: tenant };
        },
      };
    },
    interactions: { policy: entraPolicy(), url: async (ctx, interaction) => `${issuerPath}/interaction/${interaction.uid}` },
    // Entra's consent outlives the browser session: a grant is rebuilt from what the account consented to.
    async loadExistingGrant(ctx) {
      const { client, session } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      const existing = grantId && await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
      const consented = session.accountId && consents.get(session.accountId, client.clientId);
      if (!consented) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      if (consented.oidc.length) grant.addOIDCScope(consented.oidc.join(' '));
      for (const [resource, scopes] of Object.entries(consented.resources)) grant.addResourceScope(resource, scopes.join(' '));
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Entra v2 has no `resource` parameter: the resource comes from the scope's prefix.
        defaultResource: async (ctx) => resourceOf(ctx.oidc.params?.scope),
        useGrantedResource: async () => true,
        async getResourceServerInfo(ctx, indicator) {
          const short = RESOURCE_SCOPES[indicator];
          if (!short) throw new errors.InvalidTarget();
          return {
            scope: [...short, ...short.map((s) => `${indicator}/${s}`), `${indicator}/.default`].join(' '),
            audience: indicator,
            accessTokenTTL: Number(process.env.SANDBOX_ACCESS_TOKEN_TTL ?? 3600),
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const aud = [...(token.resourceServer ? [token.resourceServer.audience] : [])][0] ?? GRAPH;
        return { tid: tenant, oid: oidOf(token.clientId), roles: APP_ROLES[aud], ver: '1.0', appid: token.clientId };
      }
      if (token.kind !== 'AccessToken') return undefined;
      const aud = token.resourceServer?.audience ?? GRAPH;
      const scp = [...new Set((token.scope || '').split(' ')
        .filter((s) => s.startsWith(`${aud}/`) || RESOURCE_SCOPES[aud].includes(s))
        .map((s) => s.replace(`${aud}/`, '')))].join(' ');
      const upn = token.accountId.includes('@') ? token.accountId : `${token.accountId}@${DOMAIN}`;
      return { tid: tenant, oid: oidOf(token.accountId), upn, scp, wids: rolesOf(token.accountId), ver: '1.0', appid: token.clientId };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage({ tenantName: TENANT_NAME, error: out.error, description: out.error_description });
    },
    formats: { customizers: { async jwt(ctx, token, jwt) { jwt.header = { typ: 'JWT' }; } } },
    pkce: { required: () => true },
    // Entra issues refresh tokens without prompt=consent (stock oidc-provider would drop offline_access).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    ttl: { AccessToken: 3600, AuthorizationCode: 600, RefreshToken: 14 * 24 * 3600, IdToken: 3600, Grant: 14 * 24 * 3600, Interaction: 600, Session: 3600, ClientCredentials: 3600 },
  };

  const control = makeControl(log);
  let provider;
  const makeProvider = () => {
    provider = new Provider(issuer, configuration);
    provider.on('server_error', (ctx, err) => log('server_error', err.message));
    provider.on('grant.error', (ctx, err) => log('grant.error', err.message, err.error_description ?? '', err.scope ?? ''));
    provider.on('authorization.error', (ctx, err) => log('authorization.error', err.message, err.error_description ?? ''));
    provider.on('grant.success', (ctx) => {
      log('grant.success', ctx.oidc.params.grant_type);
      control.count(ctx.oidc.params.grant_type);
    });
    return provider.callback();
  };
  let cb = makeProvider();
  // Key rotation: a new key signs from now on; the old one stays published for tokens already out.
  // Grants and sessions live in the adapter, which the new provider instance shares.
  // The sign-in pages: GET shows the account picker or the consent page; POST .../login picks an
  // account, .../confirm accepts, .../abort cancels (access_denied back to the app, as Entra does).
  // oidc-provider drops offline_access from the request's scope without prompt=consent, yet issues
  // refresh tokens to the native client here, as Entra does; Entra lists it on the consent page:
  // "Maintain access to data you have given it access to".
  const offlineAsked = (params, session) => (params.client_id === clientId
    && !consents.get(session.accountId, params.client_id)?.oidc.includes('offline_access') ? ['offline_access'] : []);
  const interaction = async (req, res, provider) => {
    const [, uid, action] = req.url.slice(issuerPath.length).split('?')[0].match(/^\/interaction\/([^/]+)(?:\/(\w+))?$/) ?? [];
    if (!uid) { res.statusCode = 404; res.end(); return; }
    const html = (body) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store',
        // No form-action: browsers apply it to the redirects after a form, and the last one goes
        // to the app's loopback listener.
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'" });
      res.end(body);
    };
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
      const { prompt, params, session } = details;
      const base = `${issuerPath}/interaction/${uid}`;
      const tenantName = TENANT_NAME;
      if (req.method === 'GET' && !action) {
        if (prompt.name === 'login') {
          return html(accountPicker({ action: `${base}/login`, abort: `${base}/abort`, tenantName, domain: DOMAIN, loginHint: params.login_hint }));
        }
        const details2 = prompt.details;
        const resources = details2.missingResourceScopes ?? {};
        return html(consentPage({
          action: `${base}/confirm`, abort: `${base}/abort`, tenantName,
          appName: params.client_id === clientId ? 'Incident Desk' : params.client_id,
          account: session.accountId.includes('@') ? session.accountId : `${session.accountId}@${DOMAIN}`,
          permissions: permissionWords([...(details2.missingOIDCScope ?? []), ...offlineAsked(params, session)], resources),
        }));
      }
      if (req.method !== 'POST') { res.statusCode = 405; res.end(); return; }
      const form = await readForm(req);
      if (action === 'login') {
        const login = (form.get('login') ?? '').trim().toLowerCase().replace(/@contoso-sandbox\.test$/, '');
        if (!/^[a-z0-9._-]{1,64}(@[a-z0-9.-]{1,128})?$/.test(login)) {
          return html(accountPicker({ action: `${base}/login`, abort: `${base}/abort`, tenantName, domain: DOMAIN, loginHint: '' }));
        }
        return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      }
      if (action === 'confirm' && prompt.name === 'consent') {
        const { missingOIDCScope = [], missingOIDCClaims = [], missingResourceScopes = {} } = prompt.details;
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
        if (missingOIDCScope.length) grant.addOIDCScope(missingOIDCScope.join(' '));
        if (missingOIDCClaims.length) grant.addOIDCClaims(missingOIDCClaims);
        for (const [resource, scopes] of Object.entries(missingResourceScopes)) grant.addResourceScope(resource, scopes.join(' '));
        const grantId = await grant.save();
        consents.remember(session.accountId, params.client_id, [...missingOIDCScope, ...offlineAsked(params, session)], missingResourceScopes);
        log('consent given', session.accountId);
        return provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
      }
      if (action === 'abort') {
        const declined = prompt.name === 'consent';
        return provider.interactionFinished(req, res, {
          error: 'access_denied',
          error_description: declined
            ? `AADSTS65004: User declined to consent to access the app. Trace ID: ${crypto.randomUUID()} Correlation ID: ${crypto.randomUUID()}`
            : 'The user cancelled the sign-in.',
        }, { mergeWithLastSubmission: false });
      }
      res.statusCode = 400;
      res.end('Unknown step.');
    } catch (e) {
      log('interaction', e.message);
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('This sign-in has expired or is not valid any more: start it again from the app.');
    }
  };

  control.onRotate = () => {
    const fresh = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    fresh.kid = crypto.randomUUID();
    fresh.use = 'sig';
    fresh.alg = 'RS256';
    configuration.jwks = { keys: [fresh, ...configuration.jwks.keys] };
    cb = makeProvider();
    return fresh.kid;
  };
  server.on('request', async (req, res) => {
    if (req.url.startsWith('/_sandbox/')) return control.handle(req, res);
    if (!req.url.startsWith(issuerPath)) { res.statusCode = 404; res.end(); return; }
    if (req.method === 'POST' && req.url.split('?')[0] === `${issuerPath}/token`) control.countRequest('token');
    await control.delay(req, issuerPath);
    if (control.inject(req, res, issuerPath)) return;
    if (req.url.startsWith(`${issuerPath}/interaction/`)) return interaction(req, res, provider);
    if (req.method === 'POST' && req.url.split('?')[0] === `${issuerPath}/token`) {
      req = await entraRefreshScope(req);
      entraClientErrors(req.form, res);
    }
    // Entra v2 derives the resource from the scopes' prefix; oidc-provider wants `resource`. Adding
    // it at the authorization endpoint makes the code and refresh token carry the resource's scopes,
    // so a refresh that names them (as Entra's clients do) is accepted.
    const u = new URL(req.url, 'http://sandbox');
    if (req.method === 'GET' && u.pathname === `${issuerPath}/auth` && u.searchParams.has('scope') && !u.searchParams.has('resource')) {
      u.searchParams.set('resource', resourceOf(u.searchParams.get('scope')));
      req.url = u.pathname + u.search;
    }
    req.originalUrl = req.url;
    req.url = req.url.slice(issuerPath.length) || '/';
    return cb(req, res);
  });
  return {
    issuer, tenant, clientId, appClientId, appClientSecret, appCertClientId, appCertificate: certificate.file,
    close: () => new Promise((r) => server.close(r)).then(() => {
      if (!stateDir) fs.rmSync(certDir, { recursive: true, force: true });
    }),
  };
}
