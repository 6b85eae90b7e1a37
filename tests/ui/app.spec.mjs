// Journeys through the UI in Debian's Chromium, with the IPC to Rust mocked.
import { test, expect } from '@playwright/test';
import { mockIpc } from './mock-ipc.mjs';

const PROFILE = { name: 'Sandbox', tenant: 't-1', sandbox: true, api: 'graph', readOnly: false, application: false, retires: null };
const CONTOSO = { ...PROFILE, name: 'Contoso', tenant: 'contoso.onmicrosoft.com', sandbox: false };
const ACCOUNT = { name: 'Alice', username: 'alice@contoso.test', tenantId: 't-1', objectId: 'o-1' };
const HOSTILE = '<img src=x onerror="window.__pwned=1">';

function incident(id, over = {}) {
  return {
    id: String(id), displayName: `Incident ${id}`, severity: 'medium', status: 'active', assignedTo: null,
    classification: 'unknown', determination: 'unknown', created: '2026-11-19T08:00:00Z', lastUpdate: `2026-11-20T${String(10 + (id % 10)).padStart(2, '0')}:00:00Z`,
    tags: [], systemTags: [], webUrl: `https://security.microsoft.com/incidents/${id}`, redirectIncidentId: null, comments: [],
    alertCount: null, serviceSources: [], categories: [], ...over,
  };
}

const INCIDENTS = [
  incident(101, { displayName: 'Ransomware activity on srv-01', severity: 'high' }),
  incident(102, { displayName: HOSTILE, severity: 'low', status: 'inProgress', assignedTo: 'bob@contoso.test', tags: ['<b>tag</b>'] }),
  incident(103, { displayName: 'Future status', severity: 'high', status: 'someNewStatus' }),
  incident(104, { displayName: 'Old resolved', severity: 'high', status: 'resolved' }),
  incident(105, { displayName: 'Just informational', severity: 'informational' }),
];

const view = (account, extra = {}) => JSON.stringify({ profile: PROFILE, account, profiles: [PROFILE], sessionOnly: false, ...extra });
const signedIn = {
  get_state: `return ${view(ACCOUNT)};`,
  cached_incidents: `return { incidents: [], syncedAt: null };`,
  sync_incidents: `return { incidents: state.incidents ?? ${JSON.stringify(INCIDENTS)}, syncedAt: '2026-11-20T12:00:00Z' };`,
};

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.clear());
});

test('signs in, then shows the default queue with hostile text as text', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    get_state: `return ${view(null)};`,
    sign_in: `return ${view(ACCOUNT)};`,
  });
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('account')).toHaveText('alice@contoso.test');
  // Default: active and in progress, not informational; resolved, informational and unknown statuses hidden.
  await expect(page.getByTestId('incident-row')).toHaveCount(2);
  await expect(page.locator('[data-id="104"]')).toHaveCount(0);
  await expect(page.locator('[data-id="105"]')).toHaveCount(0);
  await expect(page.locator('[data-id="102"]')).toContainText(HOSTILE);
  expect(await page.locator('main img').count(), 'markup in a title must not become an element').toBe(0);
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  await page.getByTestId('presets').selectOption('All incidents');
  await expect(page.getByTestId('incident-row')).toHaveCount(5);
  await expect(page.locator('[data-id="103"]')).toContainText('someNewStatus');
});

test('filters, searches and sorts', async ({ page }) => {
  await mockIpc(page, signedIn);
  await page.goto('/');
  await page.getByTestId('presets').selectOption('All incidents');
  await expect(page.getByTestId('incident-row')).toHaveCount(5);
  await page.getByTestId('search').fill('ransomware');
  await expect(page.getByTestId('incident-row')).toHaveCount(1);
  await page.getByTestId('search').fill('');
  await page.getByTestId('assignment').selectOption('unassigned');
  await expect(page.getByTestId('incident-row')).toHaveCount(4);
  await page.getByTestId('assignment').selectOption('any');
  await page.getByRole('button', { name: /^ID/ }).click();
  await expect(page.getByTestId('incident-row').first()).toHaveAttribute('data-id', '105');
  await page.getByRole('button', { name: /^ID/ }).click();
  await expect(page.getByTestId('incident-row').first()).toHaveAttribute('data-id', '101');
});

test('the keyboard moves through the queue, opens, searches and assigns to me', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    get_incident: `const i = (state.incidents ?? ${JSON.stringify(INCIDENTS)}).find((x) => x.id === args.id); return { incident: i, alerts: [] };`,
    update_incident: `const all = state.incidents ?? ${JSON.stringify(INCIDENTS)}; const i = { ...all.find((x) => x.id === args.id), ...args.update }; state.incidents = all.map((x) => x.id === i.id ? i : x); state.last = args; return i;`,
  });
  await page.goto('/');
  await expect(page.getByTestId('incident-row')).toHaveCount(2);
  await page.keyboard.press('j');
  await expect(page.locator('[data-testid="incident-row"][aria-selected="true"]')).toHaveCount(1);
  const first = await page.locator('[data-testid="incident-row"][aria-selected="true"]').getAttribute('data-id');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  await expect(page.locator('[data-testid="incident-row"][aria-selected="true"]')).toHaveAttribute('data-id', first);
  await page.keyboard.press('a');
  await expect(page.locator(`[data-id="${first}"]`)).toContainText('alice@contoso.test');
  const sent = await page.evaluate(() => window.__IPC_STATE__.last);
  expect(sent.update).toEqual({ assignedTo: 'alice@contoso.test' });
  expect(sent.seenLastUpdate, 'writes carry what the analyst saw, for conflict detection').toBeTruthy();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('detail')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('detail')).toHaveCount(0);
  await page.keyboard.press('/');
  await expect(page.getByTestId('search')).toBeFocused();
});

test('triage from the detail view, with a conflict shown when someone else changed it', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    get_incident: `const i = ${JSON.stringify(INCIDENTS)}.find((x) => x.id === args.id); return { incident: i, alerts: [{ id: 'a1', title: 'Suspicious PowerShell', severity: 'high', status: 'new', category: 'Execution', serviceSource: 'microsoftDefenderForEndpoint', mitreTechniques: ['T1059.001'], created: null, webUrl: null, evidence: [{ kind: 'device', title: 'wks-01', details: [['osPlatform', 'Windows11']] }, { kind: 'file', title: '<svg onload=alert(2)>.js', details: [] }] }] };`,
    update_incident: `state.calls2 = (state.calls2 ?? 0) + 1; if (state.calls2 === 1) throw { code: 'conflict', message: 'the incident changed since you opened it (now inProgress, assigned to bob@contoso.test, updated 2026-11-20T12:00:00Z)' }; return { ...${JSON.stringify(INCIDENTS[0])}, ...args.update };`,
  });
  await page.goto('/');
  await page.locator('[data-id="101"]').dblclick();
  await expect(page.getByTestId('detail-title')).toHaveText('Ransomware activity on srv-01');
  await expect(page.getByTestId('techniques')).toHaveText('T1059.001');
  await expect(page.getByTestId('detail')).toContainText('<svg onload=alert(2)>.js');
  expect(await page.locator('[data-testid="detail"] svg').count()).toBe(0);
  await page.getByTestId('assign-me').click();
  await page.getByTestId('triage-save').click();
  await expect(page.getByTestId('triage-error')).toContainText('bob@contoso.test');
  await page.getByTestId('triage-comment').fill('');
  await page.getByTestId('resolve').click();
  await expect(page.getByTestId('triage-error')).toContainText('Resolving needs a note');
  await page.getByTestId('triage-comment').fill('Benign: red team exercise');
  await page.getByTestId('resolve').click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
});

test('a read-only profile cannot triage and says why', async ({ page }) => {
  const ro = { ...PROFILE, readOnly: true };
  await mockIpc(page, {
    ...signedIn,
    get_state: `return ${JSON.stringify({ profile: ro, account: ACCOUNT, profiles: [ro], sessionOnly: false })};`,
    get_incident: `return { incident: ${JSON.stringify(INCIDENTS[0])}, alerts: [] };`,
  });
  await page.goto('/');
  await page.locator('[data-id="101"]').dblclick();
  await expect(page.getByTestId('read-only')).toBeVisible();
  await expect(page.getByTestId('triage-save')).toBeDisabled();
});

test('shows a sign-in error with what the core said, and allows a retry', async ({ page }) => {
  await mockIpc(page, {
    get_state: `return ${view(null)};`,
    sign_in: `throw { code: 'auth_failed', message: 'the identity provider refused the sign-in (invalid_client): check the client ID' };`,
  });
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('sign-in-error')).toContainText('invalid_client');
  await expect(page.getByTestId('sign-in')).toBeEnabled();
});

test('a consent error offers the admin-consent link for the tenant', async ({ page }) => {
  await mockIpc(page, {
    get_state: `return ${view(null)};`,
    sign_in: `throw { code: 'consent_required', message: 'These permissions need an administrator consent (AADSTS90094: ...)' };`,
    admin_consent_url: `return 'https://login.microsoftonline.com/t-1/v2.0/adminconsent?client_id=c&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default';`,
  });
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('sign-in-error')).toContainText('AADSTS90094');
  await expect(page.getByTestId('admin-consent')).toContainText('https://login.microsoftonline.com/t-1/v2.0/adminconsent');
});

test('a cancelled sign-in returns to the sign-in button without an error', async ({ page }) => {
  await mockIpc(page, {
    get_state: `return ${view(null)};`,
    sign_in: `throw { code: 'sign_in_cancelled', message: 'sign-in was cancelled' };`,
  });
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('sign-in-error')).toHaveCount(0);
});

test('the cache shows first, then the sync; sign-out returns to sign-in', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    cached_incidents: `return { incidents: ${JSON.stringify(INCIDENTS.slice(0, 1))}, syncedAt: '2026-11-20T11:00:00Z' };`,
    sync_incidents: `await new Promise((r) => setTimeout(r, 2000)); return { incidents: ${JSON.stringify(INCIDENTS)}, syncedAt: '2026-11-20T12:00:00Z' };`,
    sign_out: `state.wipe = args.wipe; return ${view(null)};`,
  });
  await page.goto('/');
  await expect(page.getByTestId('count')).toHaveText('1 incidents');
  await expect(page.getByTestId('count')).toHaveText('5 incidents');
  await page.getByTestId('account').click();
  await page.getByTestId('sign-out-wipe').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  expect(await page.evaluate(() => window.__IPC_STATE__.wipe)).toBe(true);
});

test('a revoked session or claims challenge returns to sign-in with the reason', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    sync_incidents: `throw { code: 'reauth_required', message: 'your organisation requires you to sign in again' };`,
  });
  await page.goto('/');
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('sign-in-notice')).toContainText('sign in again');
});

test('without a keychain, offers session-only mode and says it is on', async ({ page }) => {
  await mockIpc(page, {
    get_state: `throw { code: 'keychain_unavailable', message: 'the OS keychain is not usable' };`,
    use_session_only: `return ${view(null, { sessionOnly: true })};`,
  });
  await page.goto('/');
  await page.getByTestId('session-only').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('session-only-notice')).toContainText('not saved');
});

test('first run: the setup guides, tests the connection and saves a profile', async ({ page }) => {
  await mockIpc(page, {
    get_state: `throw { code: 'no_profile', message: 'no profile configured' };`,
    test_connection: `state.tested = args.profile; return 'https://login.microsoftonline.com/' + args.profile.tenant + '/v2.0';`,
    add_profile: `state.added = args.profile; return { profile: { ...${JSON.stringify(CONTOSO)}, name: args.profile.name }, account: null, profiles: [], sessionOnly: false };`,
  });
  await page.goto('/');
  await expect(page.getByTestId('setup')).toContainText('Mobile and desktop applications');
  await expect(page.getByTestId('setup-save')).toBeDisabled();
  await page.getByTestId('setup-name').fill('Contoso');
  await page.getByTestId('setup-tenant').fill('contoso.onmicrosoft.com');
  await page.getByTestId('setup-client').fill('11111111-2222-3333-4444-555555555555');
  await page.getByTestId('setup-test').click();
  await expect(page.getByTestId('setup-ok')).toContainText('contoso.onmicrosoft.com/v2.0');
  await page.getByTestId('setup-save').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  const added = await page.evaluate(() => window.__IPC_STATE__.added);
  expect(added).toMatchObject({ name: 'Contoso', tenant: 'contoso.onmicrosoft.com', cloud: 'global', api: 'graph', authority: null, readOnly: false });
  expect(Object.keys(added), 'no secret field crosses IPC').not.toContain('clientSecret');
});

test('a startup failure says why', async ({ page }) => {
  await mockIpc(page, {
    get_state: `throw { code: 'config', message: 'no profile configured: add one with idesk profile add' };`,
  });
  await page.goto('/');
  await expect(page.getByTestId('startup-error')).toContainText('no profile configured');
  await expect(page.getByTestId('session-only')).toHaveCount(0);
});

test('switches profile: the other tenant shows its own queue', async ({ page }) => {
  const both = JSON.stringify([PROFILE, CONTOSO]);
  await mockIpc(page, {
    ...signedIn,
    get_state: `return { profile: ${JSON.stringify(PROFILE)}, account: ${JSON.stringify(ACCOUNT)}, profiles: ${both}, sessionOnly: false };`,
    switch_profile: `state.current = args.name; return { profile: args.name === 'Contoso' ? ${JSON.stringify(CONTOSO)} : ${JSON.stringify(PROFILE)}, account: ${JSON.stringify(ACCOUNT)}, profiles: ${both}, sessionOnly: false };`,
    sync_incidents: `return { incidents: state.current === 'Contoso' ? ${JSON.stringify(INCIDENTS.slice(0, 1))} : ${JSON.stringify(INCIDENTS)}, syncedAt: null };`,
  });
  await page.goto('/');
  await expect(page.getByTestId('incident-row')).toHaveCount(2);
  await page.getByTestId('profile-switcher').selectOption('Contoso');
  await expect(page.getByTestId('incident-row')).toHaveCount(1);
});

test('a Defender XDR profile says that API is retiring', async ({ page }) => {
  const d = { ...PROFILE, api: 'defender', retires: '2027-02-01' };
  await mockIpc(page, { ...signedIn, get_state: `return ${JSON.stringify({ profile: d, account: ACCOUNT, profiles: [d], sessionOnly: false })};` });
  await page.goto('/');
  await expect(page.getByTestId('retirement-notice')).toContainText('2027-02-01');
});

test('the token inspector shows grants and warns on a missing scope, never the token', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    token_info: `return { readable: true, audience: 'https://graph.microsoft.com', tenant: 't-1', scopes: ['User.Read'], roles: [], expires: 1800000000, issuedToApp: 'c', warning: 'the token lacks SecurityIncident.ReadWrite.All: grant it (with admin consent) in the app registration' };`,
  });
  await page.goto('/');
  await page.getByTestId('account').click();
  await page.getByTestId('open-inspector').click();
  await expect(page.getByTestId('inspector-audience')).toHaveText('https://graph.microsoft.com');
  await expect(page.getByTestId('inspector-warning')).toContainText('SecurityIncident.ReadWrite.All');
});

test('export sends the current view, in its order', async ({ page }) => {
  await mockIpc(page, { ...signedIn, export_incidents: `state.export = args; return '/tmp/incidents.csv';` });
  await page.goto('/');
  await page.getByTestId('search').fill('ransomware');
  await page.getByTestId('export-csv').click();
  await expect(page.getByTestId('notice')).toContainText('/tmp/incidents.csv');
  expect(await page.evaluate(() => window.__IPC_STATE__.export)).toEqual({ format: 'csv', ids: ['101'] });
});

test('the overview counts by severity and status', async ({ page }) => {
  await mockIpc(page, signedIn);
  await page.goto('/');
  await page.getByTestId('overview-toggle').click();
  await expect(page.getByTestId('bar-high')).toHaveText('3');
  await expect(page.getByTestId('bar-informational')).toHaveText('1');
});
