import { test, expect } from '@playwright/test';
import { mockIpc } from './mock-ipc.mjs';

const PROFILE = { name: 'Sandbox', tenant: 't-1', sandbox: true, api: 'graph' };
const CONTOSO = { name: 'Contoso', tenant: 'contoso.onmicrosoft.com', sandbox: false, api: 'graph' };
const ACCOUNT = { name: 'Alice', username: 'alice@contoso.test', tenantId: 't-1', objectId: 'o-1' };
const HOSTILE = '<img src=x onerror="window.__pwned=1">';
const INCIDENTS = [
  { id: '101', displayName: 'Ransomware activity on srv-01', severity: 'high', status: 'active', assignedTo: null,
    classification: null, determination: null, created: '2026-11-20T08:00:00Z', lastUpdate: '2026-11-20T10:00:00Z', tags: [], webUrl: null },
  { id: '102', displayName: HOSTILE, severity: 'low', status: 'inProgress', assignedTo: 'bob@contoso.test',
    classification: null, determination: null, created: '2026-11-19T08:00:00Z', lastUpdate: '2026-11-20T11:00:00Z', tags: [], webUrl: null },
  { id: '103', displayName: 'Future status', severity: 'someNewSeverity', status: 'someNewStatus', assignedTo: null,
    classification: null, determination: null, created: null, lastUpdate: null, tags: [], webUrl: null },
];

test('signs in, then lists incidents with hostile text shown literally', async ({ page }) => {
  await mockIpc(page, {
    get_state: `return { profile: ${JSON.stringify(PROFILE)}, account: null, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: false };`,
    sign_in: `return { profile: ${JSON.stringify(PROFILE)}, account: ${JSON.stringify(ACCOUNT)}, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: false };`,
    list_incidents: `return ${JSON.stringify(INCIDENTS)};`,
  });
  await page.goto('/');
  await expect(page.getByText('Sandbox', { exact: true }).last()).toBeVisible();
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('account')).toHaveText('alice@contoso.test');
  await expect(page.getByTestId('incident-row')).toHaveCount(3);
  // Newest update first.
  await expect(page.getByTestId('incident-row').first()).toHaveAttribute('data-id', '102');
  await expect(page.locator('[data-id="102"] td.title')).toHaveText(HOSTILE);
  expect(await page.locator('table img').count(), 'markup in a title must not become an element').toBe(0);
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  await expect(page.locator('[data-id="103"]')).toContainText('someNewStatus');
  await expect(page.getByTestId('count')).toHaveText('3 incidents');
});

test('shows a sign-in error with what the core said, and allows a retry', async ({ page }) => {
  await mockIpc(page, {
    get_state: `return { profile: ${JSON.stringify(PROFILE)}, account: null, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: false };`,
    sign_in: `throw { code: 'auth_failed', message: 'the identity provider refused the sign-in (invalid_client): check the client ID' };`,
  });
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('sign-in-error')).toContainText('invalid_client');
  await expect(page.getByTestId('sign-in')).toBeEnabled();
});

test('a consent error offers the admin-consent link for the tenant', async ({ page }) => {
  await mockIpc(page, {
    get_state: `return { profile: ${JSON.stringify(PROFILE)}, account: null, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: false };`,
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
    get_state: `return { profile: ${JSON.stringify(PROFILE)}, account: null, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: false };`,
    sign_in: `throw { code: 'sign_in_cancelled', message: 'sign-in was cancelled' };`,
  });
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('sign-in-error')).toHaveCount(0);
});

test('signed in at start: loads incidents, and sign-out returns to the sign-in screen', async ({ page }) => {
  await mockIpc(page, {
    get_state: `return { profile: ${JSON.stringify(PROFILE)}, account: ${JSON.stringify(ACCOUNT)}, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: false };`,
    list_incidents: `return ${JSON.stringify(INCIDENTS)};`,
    sign_out: `return { profile: ${JSON.stringify(PROFILE)}, account: null, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: false };`,
  });
  await page.goto('/');
  await expect(page.getByTestId('incident-row')).toHaveCount(3);
  await page.getByTestId('sign-out').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
});

test('an API error while loading is shown, and signed-out errors return to sign-in', async ({ page }) => {
  await mockIpc(page, {
    get_state: `return { profile: ${JSON.stringify(PROFILE)}, account: ${JSON.stringify(ACCOUNT)}, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: false };`,
    list_incidents: `throw { code: 'not_signed_in', message: 'signed out: the session expired or was revoked; sign in again' };`,
  });
  await page.goto('/');
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('sign-in-notice')).toContainText('sign in again');
});

test('without a keychain, offers session-only mode and says it is on', async ({ page }) => {
  await mockIpc(page, {
    get_state: `throw { code: 'keychain_unavailable', message: 'the OS keychain is not usable' };`,
    use_session_only: `return { profile: ${JSON.stringify(PROFILE)}, account: null, profiles: [${JSON.stringify(PROFILE)}], sessionOnly: true };`,
  });
  await page.goto('/');
  await page.getByTestId('session-only').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('session-only-notice')).toContainText('not saved');
});

test('a startup failure says why', async ({ page }) => {
  await mockIpc(page, {
    get_state: `throw { code: 'config', message: 'no profile configured: add one with idesk profile add' };`,
  });
  await page.goto('/');
  await expect(page.getByTestId('startup-error')).toContainText('no profile configured');
  await expect(page.getByTestId('session-only')).toHaveCount(0);
});

test('switches profile: the other tenant signs in silently and shows its own queue', async ({ page }) => {
  const both = JSON.stringify([PROFILE, CONTOSO]);
  await mockIpc(page, {
    get_state: `return { profile: ${JSON.stringify(PROFILE)}, account: ${JSON.stringify(ACCOUNT)}, profiles: ${both}, sessionOnly: false };`,
    switch_profile: `state.current = args.name; return { profile: args.name === 'Contoso' ? ${JSON.stringify(CONTOSO)} : ${JSON.stringify(PROFILE)}, account: ${JSON.stringify(ACCOUNT)}, profiles: ${both}, sessionOnly: false };`,
    list_incidents: `return state.current === 'Contoso' ? ${JSON.stringify(INCIDENTS.slice(0, 1))} : ${JSON.stringify(INCIDENTS)};`,
  });
  await page.goto('/');
  await expect(page.getByTestId('incident-row')).toHaveCount(3);
  await page.getByTestId('profile-switcher').selectOption('Contoso');
  await expect(page.getByTestId('incident-row')).toHaveCount(1);
  await expect(page.getByTestId('profile-switcher')).toHaveValue('Contoso');
});
