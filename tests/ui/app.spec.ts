// Journeys through the UI in Debian's Chromium, with the IPC to Rust mocked (mock-ipc.ts): the
// handlers are typed against the generated bindings, and run in the page, where they see only
// their arguments and the page global `mock` (the test's data, the state, the call log).
import { test, expect, type Page } from '@playwright/test';
import {
  calls,
  commandLog,
  emit,
  handlerErrors,
  mockIpc,
  type Account,
  type Change,
  type Alert,
  type Evidence,
  type AppView,
  type Handlers,
  type Incident,
  type MockData,
  type ProfileView,
  type SettingsView,
} from './mock-ipc.ts';

const PROFILE: ProfileView = {
  name: 'Sandbox', tenant: 't-1', sandbox: true, api: 'graph', readOnly: false, application: false, retires: null,
  clientId: 'c-1', cloud: 'global', authority: null, apiBase: null, region: null, proxy: null, credential: null,
};
const CONTOSO: ProfileView = { ...PROFILE, name: 'Contoso', tenant: 'contoso.onmicrosoft.com', sandbox: false };
const FABRIKAM: ProfileView = { ...PROFILE, name: 'Fabrikam', tenant: 'fabrikam.onmicrosoft.com', sandbox: false };
const ACCOUNT: Account = { name: 'Alice', username: 'alice@contoso.test', tenantId: 't-1', objectId: 'o-1' };
const HOSTILE = '<img src=x onerror="window.__pwned=1">';

function incident(id: number, over: Partial<Incident> = {}): Incident {
  return {
    id: String(id), displayName: `Incident ${id}`, severity: 'medium', status: 'active', assignedTo: null,
    classification: 'unknown', determination: 'unknown', created: '2026-11-19T08:00:00Z', lastUpdate: `2026-11-20T${String(10 + (id % 10)).padStart(2, '0')}:00:00Z`,
    tags: [], systemTags: [], webUrl: `https://security.microsoft.com/incidents/${id}`, redirectIncidentId: null, comments: [],
    alertCount: null, serviceSources: [], categories: [], priorityScore: null, lastModifiedBy: null, ...over,
  };
}

const INCIDENTS: Incident[] = [
  incident(101, { displayName: 'Ransomware activity on srv-01', severity: 'high' }),
  incident(102, { displayName: HOSTILE, severity: 'low', status: 'inProgress', assignedTo: 'bob@contoso.test', tags: ['<b>tag</b>'] }),
  incident(103, { displayName: 'Future status', severity: 'high', status: 'someNewStatus' }),
  incident(104, { displayName: 'Old resolved', severity: 'high', status: 'resolved' }),
  incident(105, { displayName: 'Just informational', severity: 'informational' }),
];

/** Evidence as the core gives it: its key decides what is the same entity. */
function evidence(kind: string, title: string, over: Partial<Evidence> = {}): Evidence {
  return { kind, title, key: `${kind}:${title.toLowerCase()}`, verdict: null, roles: [], remediationStatus: null, tags: [], details: [], ...over };
}

const ALERT: Alert = {
  id: 'a1', title: 'Suspicious PowerShell', severity: 'high', status: 'new', category: 'Execution', serviceSource: 'microsoftDefenderForEndpoint',
  mitreTechniques: ['T1059.001'], created: '2026-11-19T08:00:00Z', webUrl: null,
  evidence: [evidence('device', 'wks-01', { details: [['osPlatform', 'Windows11']] }), evidence('file', '<svg onload=alert(2)>.js')],
  description: null, recommendedActions: null, detectionSource: null, threatDisplayName: null, actorDisplayName: null, firstActivity: null, lastActivity: null,
};

/** A signed-in view of the sandbox profile, with changes. */
const view = (over: Partial<AppView> = {}): AppView => ({ profile: PROFILE, signedIn: true, account: ACCOUNT, profiles: [PROFILE], sessionOnly: false, notice: null, ...over });
const data = (over: Partial<MockData> = {}): MockData => ({ view: view(), incidents: INCIDENTS, ...over });

// A signed-in profile with an empty cache, and a tenant that behaves like the real one for triage.
// These run in the page: only their arguments and `mock` are in scope.
const signedIn: Handlers = {
  getState: () => mock.data.view,
  queueStatus: () => ({ total: mock.state.stored.length, syncedAt: mock.state.syncedAt, notice: null }),
  connect: () => mock.data.view,
  syncIncidents: () => mock.sync('2026-11-20T12:00:00Z'),
  queryQueue: (q) => mock.query(q),
  queueOverview: () => mock.overview(),
  changes: () => ({ changes: mock.state.changes, unseen: mock.state.changes.filter((c) => !c.seen).length }),
  markChangesSeen: (upTo) => {
    mock.state.changes = mock.state.changes.map((c) => (upTo === null || c.seq <= upTo ? { ...c, seen: true } : c));
    return null;
  },
  triageSuggestions: () => ({
    assignees: [...new Set(mock.state.stored.flatMap((i) => (i.assignedTo ? [i.assignedTo] : [])))],
    tags: [...new Set(mock.state.stored.flatMap((i) => i.tags))].sort(),
  }),
  getIncident: (id) => {
    const incident = mock.state.incidents.find((i) => i.id === id);
    if (!incident) throw mock.error('api_error', `the incident API answered 404 for incident ${id}`);
    return { incident, alerts: mock.data.alerts?.[id] ?? [], summary: null, description: null, history: [], pivots: [], fromCache: false };
  },
  updateIncident: (id, u, seen) => {
    const i = mock.state.incidents.find((x) => x.id === id);
    if (!i) throw mock.error('api_error', `the incident API answered 404 for incident ${id}`);
    if (i.status === 'redirected') throw mock.error('merged', `incident ${id} was merged into #${i.redirectIncidentId}: change that incident instead`);
    if (seen !== null && seen !== i.lastUpdate) {
      throw mock.error('conflict', `the incident changed since you opened it (now ${i.status}, assigned to ${i.assignedTo ?? 'nobody'}, updated ${i.lastUpdate})`);
    }
    // Over IPC a missing field leaves it alone; for the assignee, null clears it.
    const changes = Object.entries(u).some(([k, v]) => v != null || (k === 'assignedTo' && v === null));
    if (!changes) throw mock.error('invalid_input', 'nothing to change');
    if (u.status === 'resolved' && !u.comment?.trim()) throw mock.error('invalid_input', 'resolving needs a note: say why in the comment');
    const now = new Date().toISOString();
    const next = {
      ...i,
      status: u.status ?? i.status,
      assignedTo: u.assignedTo === undefined ? i.assignedTo : u.assignedTo,
      classification: u.classification ?? i.classification,
      determination: u.determination ?? i.determination,
      tags: u.tags ?? i.tags,
      comments: u.comment ? [...i.comments, { text: u.comment, author: mock.data.view.account?.username ?? null, created: now }] : i.comments,
      lastUpdate: now,
    };
    mock.write(next);
    return next;
  },
};

/** The same profile, not signed in: the sign-in screen. */
const signedOut: Handlers = {
  ...signedIn,
  getState: () => ({ ...mock.data.view, signedIn: false, account: null }),
};

let pageErrors: string[] = [];

test.beforeEach(async ({ page }) => {
  pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(`${e.name}: ${e.message}`));
  await page.addInitScript(() => localStorage.clear());
});

test.afterEach(async ({ page }) => {
  expect(pageErrors, 'no uncaught error in the page').toEqual([]);
  expect(await handlerErrors(page), 'the mock handlers ran without a bug').toEqual([]);
});

const rows = (page: Page) => page.getByTestId('incident-row');
const selected = (page: Page) => page.locator('[data-testid="incident-row"][aria-selected="true"]');
const count = async (page: Page, command: Parameters<typeof calls>[1]) => (await calls(page, command)).length;
/** The commands invoked, without the reads of the store (the queue asks at each scroll and
 * keystroke; the change feed after each sync). */
const READS = ['queryQueue', 'queueOverview', 'changes'];
const actions = async (page: Page) => (await commandLog(page)).filter((c) => !READS.includes(c));

/** Opens the account menu (a <details>), unless it is open already. */
async function accountMenu(page: Page) {
  if (!(await page.locator('details.account-menu').evaluate((d) => (d as HTMLDetailsElement).open))) await page.getByTestId('account').click();
}

test('signs in, then shows the default queue with hostile text as text', async ({ page }) => {
  await mockIpc(page, { ...signedOut, signIn: () => mock.data.view }, data());
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('account')).toHaveText('alice@contoso.test');
  // Default: active and in progress, not informational; resolved, informational and unknown statuses hidden.
  await expect(rows(page)).toHaveCount(2);
  await expect(page.locator('[data-id="104"]')).toHaveCount(0);
  await expect(page.locator('[data-id="105"]')).toHaveCount(0);
  await expect(page.locator('[data-id="102"]')).toContainText(HOSTILE);
  expect(await page.locator('main img').count(), 'markup in a title must not become an element').toBe(0);
  expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
  await page.getByTestId('presets').selectOption('All incidents');
  await expect(rows(page)).toHaveCount(5);
  await expect(page.locator('[data-id="103"]')).toContainText('someNewStatus');
  expect(await actions(page)).toEqual(['getSettings', 'getState', 'signIn', 'queueStatus', 'connect', 'syncIncidents']);
});

test('filters, searches and sorts', async ({ page }) => {
  await mockIpc(page, signedIn, data());
  await page.goto('/');
  await page.getByTestId('presets').selectOption('All incidents');
  await expect(rows(page)).toHaveCount(5);
  await page.getByTestId('search').fill('ransomware');
  await expect(rows(page)).toHaveCount(1);
  // The window asks the store for a window of rows, never the list.
  const last = (await calls(page, 'queryQueue')).at(-1)![0];
  expect(last.filter?.search).toBe('ransomware');
  expect(last.limit).toBeGreaterThan(0);
  expect(last.limit).toBeLessThan(500);
  await page.getByTestId('search').fill('');
  await page.getByTestId('assignment').selectOption('unassigned');
  await expect(rows(page)).toHaveCount(4);
  await page.getByTestId('assignment').selectOption('any');
  await page.getByRole('button', { name: /^ID/ }).click();
  await expect(rows(page).first()).toHaveAttribute('data-id', '105');
  await page.getByRole('button', { name: /^ID/ }).click();
  await expect(rows(page).first()).toHaveAttribute('data-id', '101');
});

test("a filter's controls show the filter asked: after an answer that failed, and after changes faster than the answers", async ({ page }) => {
  // Answers for two views wait until the test lets them through, so the analyst acts before
  // they come.
  await mockIpc(page, { ...signedIn, queryQueue: async (q) => {
    if (q.filter?.assignment === 'unassigned' && q.filter.severities?.length === 1) throw mock.error('internal', 'the local store could not be read');
    const held = globalThis as unknown as { gate?: Promise<void>; late?: number };
    if (q.filter?.assignment === 'unassigned' || q.filter?.statuses?.length === 0) {
      await held.gate;
      held.late = (held.late ?? 0) + 1;
    }
    return mock.query(q);
  } }, data());
  const hold = () => page.evaluate(() => {
    const g = globalThis as unknown as { gate?: Promise<void>; open?: () => void; late?: number };
    g.late = 0;
    g.gate = new Promise((r) => (g.open = r));
  });
  const release = async (answers: number) => {
    await page.evaluate(() => (globalThis as unknown as { open?: () => void }).open?.());
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { late?: number }).late), { message: 'the held answers came' }).toBeGreaterThanOrEqual(answers);
  };
  await page.goto('/');
  const filters = page.getByRole('toolbar', { name: 'Filters' });
  const status = filters.locator('summary').nth(0);
  const severity = filters.locator('summary').nth(1);
  const last = async () => (await calls(page, 'queryQueue')).at(-1)![0].filter!;
  await expect(rows(page)).toHaveCount(2);
  await expect(status).toHaveText('Status (2)');

  // The store fails: the controls still show what was asked.
  await page.getByTestId('presets').selectOption('Unassigned high');
  await expect(page.getByTestId('load-error')).toContainText('the local store could not be read');
  await expect(status).toHaveText('Status (2)');
  await expect(severity, 'the filter that failed is the one shown').toHaveText('Severity (1)');
  await expect(page.getByTestId('assignment')).toHaveValue('unassigned');

  // Unassigned, then Reset before its answer: the select shows Reset's "Anyone", before the late
  // answer and after it.
  await page.getByTestId('reset-filter').click();
  await expect(severity).toHaveText('Severity (3)');
  await hold();
  await page.getByTestId('assignment').selectOption('unassigned');
  await page.getByTestId('reset-filter').click();
  await expect.poll(async () => (await last()).assignment).toBe('any');
  await expect(page.getByTestId('assignment')).toHaveValue('any');
  await release(1);
  await expect(page.getByTestId('assignment')).toHaveValue('any');

  // "All incidents", then Active cleared before its answer: the box, the menu's count and the
  // filter asked agree once the answers are in.
  await hold();
  await page.getByTestId('presets').selectOption('All incidents');
  await status.click();
  await expect(filters.getByRole('checkbox', { name: 'Active' }), 'the box still shows the view before').toBeChecked();
  await filters.getByRole('checkbox', { name: 'Active' }).uncheck();
  await release(2);
  await expect(rows(page)).toHaveCount(5);
  await expect(filters.getByRole('checkbox', { name: 'Active' })).not.toBeChecked();
  await expect(status).toHaveText('Status');
  expect((await last()).statuses).toEqual([]);
  await filters.getByRole('checkbox', { name: 'Resolved' }).check();
  await expect(status).toHaveText('Status (1)');
  expect((await last()).statuses).toEqual(['resolved']);
});

test('a long queue renders a window: End selects the last incident, Home the first, and the store is asked for windows', async ({ page }) => {
  const many = Array.from({ length: 5000 }, (_, k) => incident(1000 + k, { lastUpdate: new Date(Date.UTC(2026, 10, 20) - k * 60_000).toISOString() }));
  await mockIpc(page, signedIn, data({ incidents: many }));
  await page.goto('/');
  await expect(page.getByTestId('shown')).toHaveText('5000 of 5000');
  expect(await rows(page).count(), 'only the rows in view are in the page').toBeLessThan(100);
  await page.keyboard.press('End');
  await expect(selected(page)).toHaveAttribute('data-id', '5999');
  await expect(selected(page), 'the last row is shown, not under the edge').toBeInViewport({ ratio: 0.9 });
  await page.keyboard.press('k');
  await expect(selected(page)).toHaveAttribute('data-id', '5998');
  await page.keyboard.press('Home');
  await expect(selected(page)).toHaveAttribute('data-id', '1000');
  const windows = await calls(page, 'queryQueue');
  expect(windows.every(([q]) => (q.limit ?? 0) <= 500), 'never the whole list').toBe(true);
  expect(windows.some(([q]) => (q.offset ?? 0) > 4000), 'the end of the queue was asked for').toBe(true);
});

test('in a window narrower than the grid, the toolbar keeps to the window and the grid scrolls inside its box', async ({ page }) => {
  await page.setViewportSize({ width: 1000, height: 700 });
  await mockIpc(page, signedIn, data());
  await page.goto('/');
  await expect(rows(page)).toHaveCount(2);
  await expect(page.getByTestId('refresh'), 'the last toolbar button is whole on screen').toBeInViewport({ ratio: 1 });
  const grid = await page.getByTestId('grid-body').evaluate((e) => ({ box: e.getBoundingClientRect().right, client: e.clientWidth, scroll: e.scrollWidth }));
  expect(grid.box, 'the grid ends inside the window').toBeLessThanOrEqual(1000);
  expect(grid.scroll, 'its columns are wider than its box: they scroll').toBeGreaterThan(grid.client);
  expect(await page.evaluate(() => document.documentElement.scrollWidth), 'the page itself does not scroll sideways').toBeLessThanOrEqual(1000);
});

test('the keyboard moves through the queue, opens, searches and assigns to me', async ({ page }) => {
  await mockIpc(page, signedIn, data());
  await page.goto('/');
  await expect(rows(page)).toHaveCount(2);
  await page.keyboard.press('j');
  await expect(selected(page)).toHaveCount(1);
  const first = await selected(page).getAttribute('data-id');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  await expect(selected(page)).toHaveAttribute('data-id', first!);
  await page.keyboard.press('a');
  await expect(page.locator(`[data-id="${first}"]`)).toContainText('alice@contoso.test');
  const [[id, update, seen]] = await calls(page, 'updateIncident');
  expect(id).toBe(first);
  expect(update).toStrictEqual({ assignedTo: 'alice@contoso.test' });
  expect(seen, 'writes carry what the analyst saw, for conflict detection').toBe(INCIDENTS.find((i) => i.id === first)!.lastUpdate);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('detail')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('detail')).toHaveCount(0);
  await page.keyboard.press('/');
  await expect(page.getByTestId('search')).toBeFocused();
});

test('triage from the detail view: a conflict shows what changed, the core says a resolve needs a note', async ({ page }) => {
  await mockIpc(page, signedIn, data({ alerts: { '101': [ALERT] } }));
  await page.goto('/');
  await page.locator('[data-id="101"]').dblclick();
  await expect(page.getByTestId('detail-title')).toHaveText('Ransomware activity on srv-01');
  await expect(page.getByTestId('techniques')).toHaveText('T1059.001');
  await expect(page.getByTestId('detail')).toContainText('<svg onload=alert(2)>.js');
  expect(await page.locator('[data-testid="detail"] svg').count()).toBe(0);
  await expect(page.getByTestId('detail-from-cache')).toHaveCount(0);
  // Someone else takes the incident while it is open.
  await page.evaluate(() => {
    mock.state.incidents = mock.state.incidents.map((i) =>
      i.id === '101' ? { ...i, status: 'inProgress', assignedTo: 'bob@contoso.test', lastUpdate: '2026-11-20T12:05:00Z' } : i,
    );
  });
  await page.getByTestId('assign-me').click();
  await page.getByTestId('triage-save').click();
  await expect(page.getByTestId('triage-error')).toContainText('Someone changed this incident');
  await expect(page.getByTestId('triage-error')).toContainText('bob@contoso.test');
  await page.getByRole('button', { name: 'Show the current state' }).click();
  await expect(page.getByTestId('detail-assigned')).toHaveText('bob@contoso.test');
  await expect(page.getByTestId('triage-error')).toHaveCount(0);
  // The rule is the core's: the UI sends the resolve and shows why it was refused.
  await page.getByTestId('assign-me').click();
  await page.getByTestId('triage-comment').fill('');
  await page.getByTestId('resolve').click();
  await expect(page.getByTestId('triage-error')).toContainText('resolving needs a note: say why in the comment');
  await page.getByTestId('triage-comment').fill('Benign: red team exercise');
  await page.getByTestId('resolve').click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await expect(page.getByTestId('detail-assigned')).toHaveText('alice@contoso.test');
  await expect(page.getByTestId('comments')).toContainText('Benign: red team exercise');
  const sent = await calls(page, 'updateIncident');
  expect(sent).toHaveLength(3);
  expect(sent[1]).toStrictEqual(['101', { status: 'resolved', assignedTo: 'alice@contoso.test' }, '2026-11-20T12:05:00Z']);
  expect(sent[2][1]).toStrictEqual({ status: 'resolved', assignedTo: 'alice@contoso.test', comment: 'Benign: red team exercise' });
});

test('clearing the assignee unassigns: the update sends assignedTo null', async ({ page }) => {
  await mockIpc(page, signedIn, data());
  await page.goto('/');
  await page.locator('[data-id="102"]').dblclick();
  await expect(page.getByTestId('detail-assigned')).toHaveText('bob@contoso.test');
  await expect(page.getByTestId('triage-assignee')).toHaveValue('bob@contoso.test');
  await page.getByTestId('triage-assignee').fill('');
  await page.getByTestId('triage-save').click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await expect(page.getByTestId('detail-assigned')).toHaveText('Unassigned');
  await expect(page.locator('[data-id="102"]')).toContainText('Unassigned');
  const [[id, update]] = await calls(page, 'updateIncident');
  expect(id).toBe('102');
  expect(update, 'a null that crossed IPC, not a missing field').toStrictEqual({ assignedTo: null });
  expect(Object.keys(update)).toEqual(['assignedTo']);
});

test('a read-only profile cannot triage and says why', async ({ page }) => {
  const ro = { ...PROFILE, readOnly: true };
  await mockIpc(page, signedIn, data({ view: view({ profile: ro, profiles: [ro] }) }));
  await page.goto('/');
  await page.locator('[data-id="101"]').dblclick();
  await expect(page.getByTestId('read-only')).toBeVisible();
  await expect(page.getByTestId('triage-save')).toBeDisabled();
});

test('offline: the cached queue stays read-only, the desk retries after 5 s then 10 s, and syncs when back', async ({ page }) => {
  // Installed a minute earlier: pausing at a time the clock has already passed is an error, and
  // some milliseconds go by between the two calls on a loaded machine.
  await page.clock.install({ time: new Date('2026-11-20T12:29:00Z') });
  await page.clock.pauseAt(new Date('2026-11-20T12:30:00Z'));
  await mockIpc(page, {
    ...signedIn,
    // The tenant is unreachable for the first two tries; then the sign-in works but the first sync fails.
    connect: () => {
      if (mock.calls('connect').length <= 2) throw mock.error('offline', 'the tenant cannot be reached (dns error): working from the cache');
      return mock.data.view;
    },
    syncIncidents: () => {
      if (mock.calls('syncIncidents').length === 1) throw mock.error('offline', 'the tenant cannot be reached (timed out)');
      return mock.sync('2026-11-20T12:30:00Z');
    },
    getIncident: (id) => {
      const incident = mock.state.stored.find((i) => i.id === id);
      if (!incident) throw mock.error('api_error', 'not cached');
      return { incident, alerts: [], summary: null, description: null, history: [], pivots: [], fromCache: true };
    },
  }, data({ stored: INCIDENTS.slice(0, 3), syncedAt: '2026-11-20T11:00:00Z' }));
  await page.goto('/');
  const banner = page.getByTestId('offline-banner');
  await expect(banner).toContainText('Offline — last synced 11:00 AM · retrying');
  await expect(page.getByTestId('count')).toHaveText('3 incidents');
  expect(await actions(page)).toEqual(['getSettings', 'getState', 'queueStatus', 'connect']);
  await expect(page.getByTestId('account'), 'the cached account').toHaveText('alice@contoso.test');

  // The detail shows as cached, and triage waits for the tenant.
  await page.locator('[data-id="101"]').dblclick();
  await expect(page.getByTestId('detail-from-cache')).toBeVisible();
  await expect(page.getByTestId('offline-read-only')).toBeVisible();
  await expect(page.getByTestId('triage-save')).toBeDisabled();
  // Assign-to-me from the keyboard is off too.
  await page.locator('[data-id="101"]').click();
  await page.keyboard.press('a');
  expect(await count(page, 'updateIncident')).toBe(0);

  // First retry after 5 s: still offline.
  await page.clock.runFor(4_900);
  expect(await count(page, 'connect')).toBe(1);
  await page.clock.runFor(100);
  await expect.poll(() => count(page, 'connect')).toBe(2);
  await expect(banner).toBeVisible();
  // Then after 10 s: signed in, but the sync fails offline.
  await page.clock.runFor(9_900);
  expect(await count(page, 'connect')).toBe(2);
  await page.clock.runFor(100);
  await expect.poll(() => count(page, 'syncIncidents')).toBe(1);
  expect(await count(page, 'connect')).toBe(3);
  await expect(banner).toBeVisible();
  // Back after 5 s: the banner goes, the sync brings the rest, triage comes back.
  await page.clock.runFor(5_000);
  await expect(banner).toHaveCount(0);
  await expect(page.getByTestId('count')).toHaveText('5 incidents');
  expect(await count(page, 'connect')).toBe(4);
  expect(await count(page, 'syncIncidents')).toBe(2);
  await expect(page.getByTestId('offline-read-only')).toHaveCount(0);
  await expect(page.getByTestId('triage-save')).toBeEnabled();
  // No retry left running.
  await page.clock.runFor(120_000);
  expect(await count(page, 'connect')).toBe(4);
});

test('"Retry now" while offline tries again at once', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    connect: () => {
      if (mock.calls('connect').length === 1) throw mock.error('offline', 'the tenant cannot be reached');
      return mock.data.view;
    },
  }, data({ stored: INCIDENTS }));
  await page.goto('/');
  await expect(page.getByTestId('offline-banner')).toContainText('Offline — not synced yet');
  await page.getByTestId('retry-now').click();
  await expect(page.getByTestId('offline-banner')).toHaveCount(0);
  await expect(page.getByTestId('sync-state')).toContainText('Synced');
  expect(await actions(page)).toEqual(['getSettings', 'getState', 'queueStatus', 'connect', 'connect', 'syncIncidents']);
});

test('shows a sign-in error with what the core said, and allows a retry', async ({ page }) => {
  await mockIpc(page, {
    ...signedOut,
    signIn: () => {
      throw mock.error('auth_failed', 'the identity provider refused the sign-in (invalid_client): check the client ID');
    },
  }, data());
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('sign-in-error')).toContainText('invalid_client');
  await expect(page.getByTestId('sign-in')).toBeEnabled();
});

test('a consent error offers the admin-consent link for the tenant', async ({ page }) => {
  await mockIpc(page, {
    ...signedOut,
    signIn: () => {
      throw mock.error('consent_required', 'These permissions need an administrator consent (AADSTS90094: ...)');
    },
    adminConsentUrl: () => 'https://login.microsoftonline.com/t-1/v2.0/adminconsent?client_id=c&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default',
  }, data());
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('sign-in-error')).toContainText('AADSTS90094');
  await expect(page.getByTestId('admin-consent')).toContainText('https://login.microsoftonline.com/t-1/v2.0/adminconsent');
});

test('a cancelled sign-in returns to the sign-in button without an error', async ({ page }) => {
  await mockIpc(page, {
    ...signedOut,
    signIn: async () => {
      // Waits for the Cancel button, as the core does.
      while (!mock.calls('cancelSignIn').length) await new Promise((r) => setTimeout(r, 20));
      throw mock.error('sign_in_cancelled', 'sign-in was cancelled');
    },
    cancelSignIn: () => {},
  }, data());
  await page.goto('/');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('waiting')).toBeVisible();
  await page.getByTestId('cancel').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('sign-in-error')).toHaveCount(0);
});

test('the cache shows first, then the sync; sign-out with wipe returns to sign-in', async ({ page }) => {
  // Installed a minute earlier: pausing at a time the clock has already passed is an error, and
  // some milliseconds go by between the two calls on a loaded machine.
  await page.clock.install({ time: new Date('2026-11-20T12:29:00Z') });
  await page.clock.pauseAt(new Date('2026-11-20T12:30:00Z'));
  await mockIpc(page, {
    ...signedIn,
    syncIncidents: async () => {
      mock.emit('syncProgress', { fetched: 3 });
      await new Promise((r) => setTimeout(r, 2000));
      return mock.sync('2026-11-20T12:00:00Z');
    },
    signOut: () => ({ ...mock.data.view, signedIn: false, account: null }),
  }, data({ stored: INCIDENTS.slice(0, 1), syncedAt: '2026-11-20T11:00:00Z' }));
  await page.goto('/');
  await expect(page.getByTestId('count')).toHaveText('1 incidents');
  await expect(page.getByTestId('sync-state')).toHaveText('Syncing… 3 fetched');
  await page.clock.runFor(2000);
  await expect(page.getByTestId('count')).toHaveText('5 incidents');
  expect(await actions(page)).toEqual(['getSettings', 'getState', 'queueStatus', 'connect', 'syncIncidents']);
  await accountMenu(page);
  await expect(page.getByTestId('remove-profile'), 'the sandbox profile cannot be removed').toHaveCount(0);
  await page.getByTestId('sign-out-wipe').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  expect(await calls(page, 'signOut')).toEqual([[true]]);
});

test('a revoked session or claims challenge returns to sign-in with the reason', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    syncIncidents: () => {
      throw mock.error('reauth_required', 'your organisation requires you to sign in again');
    },
  }, data());
  await page.goto('/');
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('sign-in-notice')).toContainText('sign in again');
});

test('a sign-in gone from the keychain returns to sign-in at start', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    connect: () => {
      throw mock.error('not_signed_in', 'not signed in: sign in again');
    },
  }, data({ stored: INCIDENTS, syncedAt: '2026-11-20T11:00:00Z' }));
  await page.goto('/');
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('sign-in-notice')).toContainText('not signed in');
  expect(await count(page, 'syncIncidents')).toBe(0);
});

test('a silent sign-in that finds nothing to sign in with shows the sign-in screen', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    connect: () => ({ ...mock.data.view, signedIn: false, account: null }),
  }, data({ stored: INCIDENTS, syncedAt: '2026-11-20T11:00:00Z' }));
  await page.goto('/');
  await expect(page.getByTestId('sign-in')).toBeVisible();
  expect(await actions(page)).toEqual(['getSettings', 'getState', 'queueStatus', 'connect']);
});

test('without a keychain, offers session-only mode and says it is on', async ({ page }) => {
  await mockIpc(page, {
    getState: () => {
      throw mock.error('keychain_unavailable', 'the OS keychain is not usable');
    },
    useSessionOnly: () => ({ ...mock.data.view, signedIn: false, account: null, sessionOnly: true }),
  }, data());
  await page.goto('/');
  await page.getByTestId('session-only').click();
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('session-only-notice')).toContainText('not saved');
});

test('first run: the setup guides, tests the connection and saves a profile', async ({ page }) => {
  await mockIpc(page, {
    getState: () => {
      throw mock.error('no_profile', 'no profile configured');
    },
    testConnection: (profile) => `https://login.microsoftonline.com/${profile.tenant}/v2.0`,
    addProfile: (profile) => {
      const p = { name: profile.name, tenant: profile.tenant, sandbox: false, api: profile.api, readOnly: profile.readOnly, application: false, retires: null, clientId: profile.clientId, cloud: profile.cloud, authority: profile.authority ?? null, apiBase: profile.apiBase ?? null, region: profile.region ?? null, proxy: profile.proxy ?? null, credential: null };
      return { profile: p, signedIn: false, account: null, profiles: [p], sessionOnly: false, notice: null };
    },
  }, data());
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
  const [[added]] = await calls(page, 'addProfile');
  expect(added).toStrictEqual({
    name: 'Contoso', tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555',
    cloud: 'global', api: 'graph', authority: null, apiBase: null, readOnly: false, region: null, proxy: null,
    application: null,
  });
  expect(await calls(page, 'testConnection')).toEqual([[added]]);
});

test('an application profile: the client secret crosses IPC once, with the save, and never comes back', async ({ page }) => {
  await mockIpc(page, {
    getState: () => {
      throw mock.error('no_profile', 'no profile configured');
    },
    testConnection: (profile) => `https://login.microsoftonline.com/${profile.tenant}/v2.0`,
    addProfile: (profile) => {
      if (profile.application?.credential === 'secret' && profile.application.secret === 'wrong') {
        throw mock.error('auth_failed', 'The client secret is wrong or expired: enter a valid one for this profile.');
      }
      const p = { name: profile.name, tenant: profile.tenant, sandbox: false, api: profile.api, readOnly: profile.readOnly, application: true, retires: null, clientId: profile.clientId, cloud: profile.cloud, authority: profile.authority ?? null, apiBase: profile.apiBase ?? null, region: profile.region ?? null, proxy: profile.proxy ?? null, credential: profile.application?.credential ?? null };
      return { profile: p, signedIn: true, account: { name: `Application ${profile.clientId}`, username: null, tenantId: profile.tenant, objectId: null }, profiles: [p], sessionOnly: false, notice: null };
    },
  }, data());
  await page.goto('/');
  await page.getByTestId('setup-name').fill('Customer A');
  await page.getByTestId('setup-tenant').fill('customer-a.onmicrosoft.com');
  await page.getByTestId('setup-client').fill('11111111-2222-3333-4444-555555555555');
  await page.getByTestId('setup-as-secret').click();
  await expect(page.getByTestId('setup-guide')).toContainText('Client secrets');
  await expect(page.getByTestId('setup-secret')).toHaveAttribute('type', 'password');
  await expect(page.getByTestId('setup-save'), 'no secret yet').toBeDisabled();
  await page.getByTestId('setup-secret').fill('wrong');
  await page.getByTestId('setup-test').click();
  await expect(page.getByTestId('setup-ok')).toBeVisible();
  await page.getByTestId('setup-save').click();
  await expect(page.getByTestId('setup-error')).toContainText('client secret is wrong');
  await page.getByTestId('setup-secret').fill('s3cr3t-value');
  await page.getByTestId('setup-save').click();
  await expect(page.getByTestId('account')).toContainText('Application 11111111');
  const [[tested]] = await calls(page, 'testConnection');
  expect(tested.application, 'testing the connection sends no credential').toStrictEqual({ credential: 'secret', secret: null });
  const added = await calls(page, 'addProfile');
  expect(added.map(([p]) => p.application)).toStrictEqual([
    { credential: 'secret', secret: 'wrong' },
    { credential: 'secret', secret: 's3cr3t-value' },
  ]);
  const everything = JSON.stringify(await page.evaluate(() => mock.state.calls));
  expect(everything.split('s3cr3t-value').length - 1, 'the secret crossed IPC once').toBe(1);
  await expect(page.locator('body')).not.toContainText('s3cr3t-value');
});

test('an application profile with a certificate sends the file\'s path, never its key', async ({ page }) => {
  await mockIpc(page, {
    getState: () => {
      throw mock.error('no_profile', 'no profile configured');
    },
    chooseCertificate: () => '/home/analyst/customer-a.pem',
    addProfile: () => {
      throw mock.error('invalid_input', 'the certificate file holds a password-protected key: export it without a password (openssl pkcs8 -topk8 -nocrypt)');
    },
  }, data());
  await page.goto('/');
  await page.getByTestId('setup-name').fill('Customer A');
  await page.getByTestId('setup-tenant').fill('customer-a.onmicrosoft.com');
  await page.getByTestId('setup-client').fill('11111111-2222-3333-4444-555555555555');
  await page.getByTestId('setup-as-certificate').click();
  await expect(page.getByTestId('setup-guide')).toContainText('Certificates & secrets');
  await page.getByTestId('setup-certificate-browse').click();
  await expect(page.getByTestId('setup-certificate')).toHaveValue('/home/analyst/customer-a.pem');
  await page.getByTestId('setup-save').click();
  await expect(page.getByTestId('setup-error')).toContainText('password-protected');
  const [[added]] = await calls(page, 'addProfile');
  expect(added.application).toStrictEqual({ credential: 'certificate', path: '/home/analyst/customer-a.pem' });
});

test('setup offers the Defender XDR regional hosts and a proxy, and sends them only where they apply', async ({ page }) => {
  await mockIpc(page, {
    getState: () => {
      throw mock.error('no_profile', 'no profile configured');
    },
    addProfile: (profile) => {
      const p = { name: profile.name, tenant: profile.tenant, sandbox: false, api: profile.api, readOnly: profile.readOnly, application: false, retires: null, clientId: profile.clientId, cloud: profile.cloud, authority: profile.authority ?? null, apiBase: profile.apiBase ?? null, region: profile.region ?? null, proxy: profile.proxy ?? null, credential: null };
      return { profile: p, signedIn: false, account: null, profiles: [p], sessionOnly: false, notice: null };
    },
  }, data());
  await page.goto('/');
  await page.getByTestId('setup-name').fill('EU tenant');
  await page.getByTestId('setup-tenant').fill('contoso.onmicrosoft.com');
  await page.getByTestId('setup-client').fill('11111111-2222-3333-4444-555555555555');
  await expect(page.getByTestId('setup-region')).toHaveCount(0);
  await page.getByLabel('Incident API').selectOption('defender');
  await page.getByTestId('setup-region').selectOption('eu');
  await page.getByText('Advanced').click();
  await page.getByTestId('setup-proxy').fill(' http://proxy.contoso.test:8080 ');
  await page.getByTestId('setup-save').click();
  const [[added]] = await calls(page, 'addProfile');
  expect(added).toMatchObject({ api: 'defender', cloud: 'global', region: 'eu', proxy: 'http://proxy.contoso.test:8080' });
});

test('About shows the build, the paths and the licences, and copies the diagnostics', async ({ page }) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await mockIpc(page, {
    about: () => ({
      version: '0.1.0', commit: 'abc123def456', built: '2026-11-21', os: 'Debian GNU/Linux 12 (linux x86_64)',
      configDir: '/home/a/.config/incident-desk', dataDir: '/home/a/.local/share/incident-desk',
      logFile: '/home/a/.local/state/incident-desk/logs/incident-desk.log',
      components: [
        { name: 'tauri', version: '2.12.5', license: 'Apache-2.0 OR MIT' },
        { name: 'ring', version: '0.17.14', license: 'Apache-2.0 AND ISC' },
      ],
    }),
    diagnostics: () => 'Incident Desk 0.1.0 (abc123def456, 2026-11-21)\nProfiles: 1\n  - delegated, Graph API, Global cloud\n',
  }, data());
  await page.goto('/');
  await page.getByTestId('open-about').click();
  await expect(page.getByTestId('about-version')).toHaveText('0.1.0');
  await expect(page.getByTestId('about-commit')).toHaveText('abc123def456');
  await expect(page.getByTestId('about-log')).toContainText('incident-desk.log');
  await page.getByText('Open-source components (2)').click();
  await page.getByLabel('Filter components').fill('isc');
  await expect(page.getByTestId('about-licences').locator('li')).toHaveText([/ring 0\.17\.14/]);
  await page.getByTestId('copy-diagnostics').click();
  await expect(page.getByTestId('diagnostics-copied')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('Profiles: 1');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('about')).toHaveCount(0);
});

test('a notice from the core is shown once and can be dismissed', async ({ page }) => {
  const said = 'Profile "Contoso" now names another sign-in authority, tenant or app registration: its earlier sign-in and cached incidents were deleted, unsent. Sign in again.';
  await mockIpc(page, {
    getState: () => mock.data.views!.noticed,
  }, data({ views: { noticed: view({ signedIn: false, account: null, notice: said }) } }));
  await page.goto('/');
  await expect(page.getByTestId('sign-in')).toBeVisible();
  await expect(page.getByTestId('profile-notice')).toContainText('cached incidents were deleted');
  await page.getByTestId('profile-notice-dismiss').click();
  await expect(page.getByTestId('profile-notice')).toHaveCount(0);
});

test('a startup failure says why', async ({ page }) => {
  await mockIpc(page, {
    getState: () => {
      throw mock.error('config', 'no profile configured: add one with idesk profile add');
    },
  }, data());
  await page.goto('/');
  await expect(page.getByTestId('startup-error')).toContainText('no profile configured');
  await expect(page.getByTestId('session-only')).toHaveCount(0);
});

test('switches profile: the other tenant shows its own queue', async ({ page }) => {
  const profiles = [PROFILE, CONTOSO];
  await mockIpc(page, {
    ...signedIn,
    switchProfile: (name) => {
      const v = name === mock.data.view.profile.name ? mock.data.view : mock.data.views?.[name];
      if (!v) throw mock.error('config', `no profile named ${name}`);
      return v;
    },
    connect: () => {
      const name = mock.calls('switchProfile').at(-1)?.[0];
      return (name && mock.data.views?.[name]) || mock.data.view;
    },
    syncIncidents: () => {
      const contoso = mock.calls('switchProfile').at(-1)?.[0] === 'Contoso';
      mock.state.stored = contoso ? mock.state.incidents.slice(0, 1) : mock.state.incidents;
      return { total: mock.state.stored.length, syncedAt: null, notice: null };
    },
  }, data({ view: view({ profiles }), views: { Contoso: view({ profile: CONTOSO, profiles }) } }));
  await page.goto('/');
  await expect(rows(page)).toHaveCount(2);
  await page.getByTestId('profile-switcher').selectOption('Contoso');
  await expect(rows(page)).toHaveCount(1);
  await expect(page.getByTestId('profile-switcher')).toHaveValue('Contoso');
  expect(await calls(page, 'switchProfile')).toEqual([['Contoso']]);
});

test('all profiles in one queue: a Tenant column, filters and search across them, a row opens in its own profile', async ({ page }) => {
  const profiles = [PROFILE, CONTOSO];
  await mockIpc(page, {
    ...signedIn,
    switchProfile: (name) => mock.data.views?.[name] ?? mock.data.view,
    // Contoso's store holds one incident with an ID the sandbox profile has too; the answer is
    // both stores merged, newest update first, each row naming its profile.
    queryQueue: (q) => {
      if (!q.allProfiles) return mock.query(q);
      const own = mock.query({ ...q, offset: 0, limit: 500 });
      const words = (q.filter?.search ?? '').toLowerCase();
      const theirs = [{ ...mock.data.incidents[0], displayName: 'Contoso: phishing wave', severity: 'low' as const, lastUpdate: '2026-11-20T11:59:00Z' }]
        .filter((i) => i.displayName.toLowerCase().includes(words) && (!q.filter?.severities?.length || q.filter.severities.includes(i.severity)));
      const merged = [...own.rows.map((i) => ({ i, p: 'Sandbox' })), ...theirs.map((i) => ({ i, p: 'Contoso' }))]
        .sort((a, b) => (b.i.lastUpdate ?? '').localeCompare(a.i.lastUpdate ?? ''));
      return { ...own, total: own.total + 1, matched: merged.length, rows: merged.map((x) => x.i), profiles: merged.map((x) => x.p) };
    },
    getIncident: (id) => {
      const contoso = mock.calls('switchProfile').at(-1)?.[0] === 'Contoso';
      const incident = contoso ? { ...mock.data.incidents[0], displayName: 'Contoso: phishing wave' } : mock.state.incidents.find((i) => i.id === id)!;
      return { incident, alerts: [], summary: null, description: null, history: [], pivots: [], fromCache: false };
    },
  }, data({ view: view({ profiles }), views: { Contoso: view({ profile: CONTOSO, profiles }) } }));
  await page.goto('/');
  await expect(rows(page)).toHaveCount(2);
  await expect(page.getByTestId('tenant-column')).toHaveCount(0);
  await page.getByTestId('profile-switcher').selectOption({ label: 'All profiles (2)' });
  await expect(page.getByTestId('tenant-column')).toHaveText('Tenant');
  await expect(rows(page)).toHaveCount(3);
  // The same ID in two tenants: two rows, each with its tenant.
  const first = INCIDENTS[0].id;
  await expect(page.locator(`[data-testid="incident-row"][data-id="${first}"]`)).toHaveCount(2);
  expect((await page.locator(`[data-testid="incident-row"][data-id="${first}"] [data-testid="tenant-cell"]`).allTextContents()).sort()).toEqual(['Contoso', 'Sandbox']);
  await expect(page.getByTestId('row-check')).toHaveCount(0);
  expect((await calls(page, 'queryQueue')).at(-1)?.[0].allProfiles).toBe(true);
  // Search and filters apply across every profile.
  await page.getByTestId('search').fill('phishing');
  await expect(rows(page)).toHaveCount(1);
  await expect(page.getByTestId('tenant-cell')).toHaveText('Contoso');
  // Opened, the row's profile becomes the open one; the queue still shows every profile.
  await rows(page).first().dblclick();
  await expect(page.getByTestId('detail-title')).toHaveText('Contoso: phishing wave');
  expect(await calls(page, 'switchProfile')).toEqual([['Contoso']]);
  await expect(page.getByTestId('profile-switcher')).toHaveValue('\u0000all');
  // Refresh syncs every profile.
  await page.getByTestId('refresh').click();
  await expect.poll(async () => (await calls(page, 'syncIncidents')).at(-1)).toEqual([true]);
  // A profile chosen again shows its own queue only.
  await page.getByTestId('profile-switcher').selectOption('Sandbox');
  await expect(page.getByTestId('tenant-column')).toHaveCount(0);
});

test('a store set aside at start (an earlier version\'s, or unreadable) says so', async ({ page }) => {
  const said = 'Cache unreadable — re-syncing: the stored incidents could not be read with this profile\'s key.';
  await mockIpc(page, {
    ...signedIn,
    queueStatus: () => ({ total: 0, syncedAt: null, notice: mock.data.views!.said.notice }),
  }, data({ views: { said: view({ notice: said }) } }));
  await page.goto('/');
  await expect(page.getByTestId('profile-notice')).toContainText('Cache unreadable — re-syncing');
  await expect(rows(page)).toHaveCount(2);
});

test('removes a profile after asking; removing the last one shows the setup', async ({ page }) => {
  const both = [CONTOSO, FABRIKAM];
  await mockIpc(page, {
    ...signedIn,
    // Contoso is current; once it is removed, Fabrikam is; removing that one leaves none.
    connect: () => (mock.calls('removeProfile').length ? mock.data.views?.Fabrikam ?? mock.data.view : mock.data.view),
    removeProfile: (name) => {
      if (name === 'Contoso') return mock.data.views?.Fabrikam ?? mock.data.view;
      throw mock.error('no_profile', 'no profile configured');
    },
  }, data({ view: view({ profile: CONTOSO, profiles: both }), views: { Fabrikam: view({ profile: FABRIKAM, profiles: [FABRIKAM] }) } }));
  const dialogs: string[] = [];
  let accept = false;
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await (accept ? d.accept() : d.dismiss());
  });
  await page.goto('/');
  await expect(rows(page)).toHaveCount(2);
  // Asked, and declined: nothing happens.
  await accountMenu(page);
  await page.getByTestId('remove-profile').click();
  await expect.poll(() => dialogs.length).toBe(1);
  expect(dialogs[0]).toContain('Remove the profile "Contoso"?');
  expect(await count(page, 'removeProfile')).toBe(0);
  // Choosing an item closes the menu: it would otherwise stay over the toolbar.
  await expect(page.locator('details.account-menu')).not.toHaveAttribute('open');
  // Accepted: the next profile opens.
  accept = true;
  await accountMenu(page);
  await page.getByTestId('remove-profile').click();
  await expect(page.getByTestId('profile')).toHaveText('Fabrikam');
  await expect(rows(page)).toHaveCount(2);
  // The last one: the core says there is no profile left, and the setup shows.
  await accountMenu(page);
  await page.getByTestId('remove-profile').click();
  await expect(page.getByTestId('setup')).toBeVisible();
  expect(dialogs).toHaveLength(3);
  expect(await calls(page, 'removeProfile')).toEqual([['Contoso'], ['Fabrikam']]);
});

test('a Defender XDR profile says that API is retiring', async ({ page }) => {
  const d = { ...PROFILE, api: 'defender' as const, retires: '2027-02-01' };
  await mockIpc(page, signedIn, data({ view: view({ profile: d, profiles: [d] }) }));
  await page.goto('/');
  await expect(page.getByTestId('retirement-notice')).toContainText('2027-02-01');
});

test('the token inspector shows grants and warns on a missing scope, never the token', async ({ page }) => {
  await mockIpc(page, {
    ...signedIn,
    tokenInfo: () => ({
      readable: true, audience: 'https://graph.microsoft.com', tenant: 't-1', scopes: ['User.Read'], roles: [],
      expires: '2026-11-20T13:00:00Z', issuedToApp: 'c',
      warning: 'the token lacks SecurityIncident.ReadWrite.All: grant it (with admin consent) in the app registration',
    }),
  }, data());
  await page.goto('/');
  await accountMenu(page);
  await page.getByTestId('open-inspector').click();
  await expect(page.getByTestId('inspector-audience')).toHaveText('https://graph.microsoft.com');
  await expect(page.getByTestId('inspector-scopes')).toHaveText('User.Read');
  await expect(page.getByTestId('inspector-warning')).toContainText('SecurityIncident.ReadWrite.All');
  // An RFC 3339 time, shown in the analyst's locale and time zone (en-US, UTC here).
  await expect(page.getByTestId('inspector').locator('dt:text-is("Expires") + dd')).toHaveText('11/20/2026, 1:00:00 PM');
});

test('export sends the current view, in its order', async ({ page }) => {
  await mockIpc(page, { ...signedIn, exportIncidents: () => '/tmp/incidents.csv' }, data());
  await page.goto('/');
  await page.getByTestId('search').fill('ransomware');
  await page.getByTestId('export-csv').click();
  await expect(page.getByTestId('notice')).toContainText('/tmp/incidents.csv');
  const [[format, view]] = await calls(page, 'exportIncidents');
  expect(format).toBe('csv');
  expect(view.filter?.search, 'the view as shown: its search, filter and sort').toBe('ransomware');
  expect(view.sort).toEqual({ key: 'lastUpdate', desc: true });
  expect(view.me).toBe('alice@contoso.test');
  await expect(page.getByTestId('notice')).toContainText('Exported 1 incidents');
});

test('"since you last looked" lists changes by incident, opens one, and marks them seen', async ({ page }) => {
  const change = (seq: number, over: Partial<Change>): Change => ({
    seq, incidentId: '101', title: 'Ransomware activity on srv-01', kind: 'statusChanged', detail: 'Active → In progress',
    severity: 'high', assignedTo: null, mine: false, at: '2026-11-20T12:00:00Z', seen: false, ...over,
  });
  const changes = [
    change(3, { incidentId: '102', title: HOSTILE, kind: 'assignmentChanged', detail: `assigned to you (${HOSTILE})`, mine: true }),
    change(2, { kind: 'severityRaised', detail: 'Medium → High' }),
    change(1, { seen: true }),
  ];
  await mockIpc(page, signedIn, data({ changes }));
  await page.goto('/');
  await expect(page.getByTestId('changes-count')).toHaveText('2');
  await page.getByTestId('changes-toggle').click();
  const groups = page.getByTestId('change-group');
  await expect(groups).toHaveCount(2);
  await expect(groups.first(), 'newest first, hostile text as text').toContainText(HOSTILE);
  await expect(groups.first()).toContainText('Yours');
  expect(await page.locator('main img').count()).toBe(0);
  await expect(groups.nth(1).getByTestId('change')).toHaveCount(2);
  await groups.nth(1).getByRole('button').first().click();
  await expect(page.getByTestId('detail')).toContainText('Ransomware activity on srv-01');
  await page.getByTestId('changes-mark-seen').click();
  await expect(page.getByTestId('changes-count')).toHaveCount(0);
  await expect(page.getByTestId('changes-unseen')).toHaveText('0 unseen');
  expect(await calls(page, 'markChangesSeen'), 'up to the newest change shown').toEqual([[3]]);
});

test('a clicked notification or a link opens its incident, in its profile; Copy link gives the incident\'s link', async ({ page }) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const profiles = [PROFILE, CONTOSO];
  await mockIpc(page, {
    ...signedIn,
    switchProfile: (name) => mock.data.views?.[name] ?? mock.data.view,
    connect: () => {
      const name = mock.calls('switchProfile').at(-1)?.[0];
      return (name && mock.data.views?.[name]) || mock.data.view;
    },
    incidentLink: (id) => `incidentdesk://t-1/incident/${id}`,
  }, data({ view: view({ profiles }), views: { Contoso: view({ profile: CONTOSO, profiles }) } }));
  await page.goto('/');
  await expect(rows(page)).toHaveCount(2);
  await emit(page, 'openIncident', { profile: 'Sandbox', incidentId: '104' });
  await expect(page.getByTestId('detail-title')).toHaveText('Old resolved');
  await page.getByTestId('copy-link').click();
  await expect(page.getByTestId('notice')).toHaveText('Copied incidentdesk://t-1/incident/104');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('incidentdesk://t-1/incident/104');
  // Another profile's incident: that profile first.
  await emit(page, 'openIncident', { profile: 'Contoso', incidentId: '101' });
  await expect(page.getByTestId('profile-switcher')).toHaveValue('Contoso');
  await expect(page.getByTestId('detail-title')).toHaveText('Ransomware activity on srv-01');
  expect(await calls(page, 'switchProfile')).toEqual([['Contoso']]);
  // A summary notification opens the change feed.
  await emit(page, 'openIncident', { profile: 'Contoso', incidentId: null });
  await expect(page.getByTestId('changes')).toBeVisible();
});

test('bulk triage: select with ctrl, shift and x, apply one change, each incident checked on its own, a summary of what was saved and skipped', async ({ page }) => {
  const incidents = [
    ...INCIDENTS,
    incident(106, { displayName: 'Merged away', status: 'redirected', redirectIncidentId: '101' }),
  ];
  await mockIpc(page, {
    ...signedIn,
    queryIds: (q) => mock.query({ ...q, offset: 0, limit: 500 }).rows.map((i) => ({ id: i.id, lastUpdate: i.lastUpdate })),
    updateIncidents: (targets, edit) => {
      const result = { saved: [] as Incident[], skipped: [] as { id: string; reason: string }[], failed: [] as { id: string; reason: string }[] };
      targets.forEach((t, n) => {
        const i = mock.state.incidents.find((x) => x.id === t.id)!;
        if (i.status === 'redirected') result.skipped.push({ id: t.id, reason: `merged into #${i.redirectIncidentId}: change that incident instead` });
        else if (t.seenLastUpdate !== i.lastUpdate) result.skipped.push({ id: t.id, reason: 'the incident changed since you opened it' });
        else {
          const next = { ...i, status: edit.status ?? i.status, tags: [...i.tags, ...(edit.addTags ?? [])], lastUpdate: new Date().toISOString() };
          mock.write(next);
          result.saved.push(next);
        }
        mock.emit('bulkProgress', { done: n + 1, total: targets.length });
      });
      return result;
    },
  }, data({ incidents }));
  page.on('dialog', (d) => d.accept());
  await page.goto('/');
  await page.getByTestId('presets').selectOption('All incidents');
  // Merged incidents are left out until asked for.
  await expect(rows(page)).toHaveCount(5);
  await page.locator('summary', { hasText: 'Status' }).click();
  await page.getByTestId('show-merged').check();
  await page.locator('summary', { hasText: 'Status' }).click();
  await expect(rows(page)).toHaveCount(6);
  const ids = await rows(page).evaluateAll((r) => r.map((x) => (x as HTMLElement).dataset.id!));
  // Ctrl-click the first, shift-click the third: the first three; x toggles the selected row.
  await page.locator(`[data-id="${ids[0]}"]`).click({ modifiers: ['Control'] });
  await page.locator(`[data-id="${ids[2]}"]`).click({ modifiers: ['Shift'] });
  await expect(page.getByTestId('bulk-count')).toHaveText('3');
  await page.locator(`[data-id="${ids[5]}"]`).click();
  await page.keyboard.press('x');
  await expect(page.getByTestId('bulk-count')).toHaveText('4');
  await expect(page.locator('.grid-row.checked')).toHaveCount(4);
  // Select all in the view, then apply: one changed since it was shown, one merged.
  await page.getByTestId('select-all').check();
  await expect(page.getByTestId('bulk-count')).toHaveText('6');
  await page.evaluate(() => {
    const i = mock.state.incidents.find((x) => x.id === '103')!;
    i.lastUpdate = '2026-11-21T00:00:00Z';
  });
  await page.getByTestId('bulk-status').selectOption('inProgress');
  await page.getByTestId('bulk-add-tag').fill('bulk');
  await page.getByTestId('bulk-apply').click();
  await expect(page.getByTestId('bulk-result')).toContainText('Saved 4 · skipped 2 · failed 0');
  await expect(page.getByTestId('bulk-skipped')).toContainText('#106: merged into #101');
  await expect(page.getByTestId('bulk-skipped')).toContainText('#103: the incident changed since you opened it');
  const [[targets, edit]] = await calls(page, 'updateIncidents');
  expect(edit).toEqual({ status: 'inProgress', addTags: ['bulk'], followMerges: false });
  expect(targets.find((t) => t.id === '101')?.seenLastUpdate, 'each carries what the analyst saw').toBe(INCIDENTS[0].lastUpdate);
  // What was saved leaves the selection; the skipped stay, to look at or retry.
  await expect(page.getByTestId('bulk-count')).toHaveText('2');
  await page.getByTestId('bulk-clear').click();
  await expect(page.getByTestId('bulk')).toHaveCount(0);
});

test('the detail is deep enough to decide: summary, alerts, every evidence type with verdict and roles, a timeline; a merged incident says where it went', async ({ page }) => {
  const kinds = ['device', 'user', 'file', 'process', 'ip', 'url', 'mailbox', 'analyzedMessage', 'mailCluster', 'cloudApplication', 'oauthApplication',
    'registryKey', 'registryValue', 'securityGroup', 'azureResource', 'blob', 'kubernetesPod', 'someFuture'];
  const everyKind: Alert = {
    ...ALERT,
    description: HOSTILE,
    recommendedActions: '1. Isolate the device.\n2. Reset the password.',
    detectionSource: 'antivirus',
    threatDisplayName: 'Trojan:Win32/Wacatac',
    actorDisplayName: 'Storm-0501',
    firstActivity: '2026-11-19T07:48:00Z',
    lastActivity: '2026-11-19T07:58:00Z',
    evidence: [
      ...kinds.map((k) => evidence(k, `${k} one`, { verdict: k === 'file' ? 'malicious' : 'suspicious', roles: k === 'device' ? ['compromised'] : [] })),
      // Two values of one registry key: one title, two entities.
      evidence('registryValue', 'Run', { key: 'registryValue:hklm\\run|a' }),
      evidence('registryValue', 'Run', { key: 'registryValue:hklm\\run|b' }),
      evidence('file', HOSTILE, { tags: ['Detonated'], remediationStatus: 'prevented' }),
    ],
  };
  // The same device in a second alert is one entity.
  const second: Alert = { ...ALERT, id: 'a2', title: 'Second alert', created: '2026-11-19T08:05:00Z', evidence: [evidence('device', 'device one')] };
  const incidents = [...INCIDENTS, incident(107, { displayName: 'Merged into the ransomware one', status: 'redirected', redirectIncidentId: '101', priorityScore: 0 })];
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await mockIpc(page, {
    ...signedIn,
    getIncident: (id) => {
      const incident = mock.state.incidents.find((i) => i.id === id)!;
      const history: Change[] = id === '101'
        ? [{ seq: 1, incidentId: '101', title: incident.displayName, kind: 'severityRaised', detail: 'Medium → High', severity: 'high', assignedTo: null, mine: false, at: '2026-11-19T09:00:00Z', seen: true }]
        : [];
      const pivots = id === '101'
        ? [{ evidenceKey: 'device:device one', kind: 'device', value: 'device one', others: 2, truePositives: 1,
          recent: [{ id: '102', displayName: '<img src=x onerror="window.__pwned=1">', classification: 'truePositive' }, { id: '104', displayName: 'Old resolved', classification: 'unknown' }] }]
        : [];
      return { incident, alerts: mock.data.alerts?.[id] ?? [], summary: id === '101' ? 'Summary: <b>not bold</b>' : null, description: null, history, pivots, fromCache: false };
    },
  }, data({ incidents: incidents.map((i) => (i.id === '101' ? { ...i, priorityScore: 87, lastModifiedBy: 'Automation' } : i)), alerts: { '101': [everyKind, second] } }));
  await page.goto('/');
  await page.locator('[data-id="101"]').dblclick();
  await expect(page.getByTestId('detail-summary')).toHaveText('Summary: <b>not bold</b>');
  await expect(page.getByTestId('detail-priority')).toHaveText('87 / 100');
  // The form suggests me, the store's recent assignees and its tags.
  await expect(page.getByTestId('assignee-suggestions').locator('option[value="bob@contoso.test"]')).toHaveCount(1);
  await expect(page.getByTestId('assignee-suggestions').locator('option[value="alice@contoso.test"]')).toHaveCount(1);
  await expect(page.getByTestId('tag-suggestions').locator('option[value="<b>tag</b>"]')).toHaveCount(1);
  await expect(page.getByTestId('alert-description').first()).toHaveText(HOSTILE);
  await expect(page.getByTestId('alert-threat').first()).toContainText('Trojan:Win32/Wacatac');
  await expect(page.getByTestId('alert-threat').first()).toContainText('Storm-0501');
  await page.getByText('Recommended actions').first().click();
  await expect(page.getByTestId('alert-recommended').first()).toContainText('Reset the password');
  // Every kind has its section; items are told apart by key, not by title.
  for (const k of kinds) await expect(page.getByTestId(`evidence-${k}`)).toHaveCount(1);
  await expect(page.getByTestId('evidence-registryValue').locator('li')).toHaveCount(3);
  await expect(page.getByTestId('evidence-device').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('evidence-file').locator('li')).toHaveCount(2);
  await expect(page.getByTestId('evidence-file').getByTestId('verdict').first()).toHaveText('Malicious');
  await expect(page.getByTestId('evidence-device')).toContainText('Compromised');
  await page.getByTestId('evidence-file').locator('summary').click();
  await expect(page.getByTestId('evidence-file').locator('li').nth(1)).toContainText('Detonated');
  // Where the device was seen before, with links.
  const pivot = page.getByTestId('evidence-device').getByTestId('pivot');
  await expect(pivot).toContainText('seen in 2 other incidents in the last 30 days (1 true positive)');
  await expect(pivot.getByTestId('pivot-link')).toHaveCount(2);
  // The timeline: the alerts and the change the app saw, newest first.
  const timeline = page.getByTestId('timeline').locator('li');
  await expect(timeline).toHaveCount(3);
  await expect(timeline.first()).toContainText('Medium → High');
  await expect(timeline.nth(1)).toContainText('Alert: Second alert');
  // Nothing of the incident's text ran.
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  // A merged incident: shown only when asked for, says where it went, takes no changes, links there.
  await expect(page.locator('[data-id="107"]')).toHaveCount(0);
  await page.getByTestId('presets').selectOption('All incidents');
  await page.locator('summary', { hasText: 'Status' }).click();
  await page.getByTestId('show-merged').check();
  await page.locator('[data-id="107"]').dblclick();
  await expect(page.getByTestId('merged')).toContainText('Merged into #101');
  await expect(page.getByTestId('merged-read-only')).toBeVisible();
  await expect(page.getByTestId('triage-save')).toBeDisabled();
  await page.getByTestId('merged-into').click();
  await expect(page.getByTestId('detail-title')).toHaveText('Ransomware activity on srv-01');
  // A pivot's link opens the other incident.
  await page.getByTestId('evidence-device').getByTestId('pivot-link').first().click();
  await expect(page.getByTestId('detail-title')).toHaveText(HOSTILE);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(errors).toEqual([]);
});

test('a change refused because the incident was merged meanwhile can go to the incident it joined', async ({ page }) => {
  await mockIpc(page, signedIn, data());
  await page.goto('/');
  await page.locator('[data-id="102"]').dblclick();
  await expect(page.getByTestId('detail-title')).toHaveText(HOSTILE);
  // Merged elsewhere while the analyst reads it.
  await page.evaluate(() => {
    const i = mock.state.incidents.find((x) => x.id === '102')!;
    i.status = 'redirected';
    i.redirectIncidentId = '101';
  });
  await page.getByTestId('triage-comment').fill('Looked at it');
  await page.getByTestId('triage-save').click();
  await expect(page.getByTestId('triage-error')).toContainText('merged into #101');
  await page.getByTestId('apply-to-target').click();
  await expect(page.getByTestId('detail-title')).toHaveText('Ransomware activity on srv-01');
  const writes = await calls(page, 'updateIncident');
  expect(writes.map(([id, u]) => [id, u.comment])).toEqual([['102', 'Looked at it'], ['101', 'Looked at it']]);
});

test('triage macros: defined in settings for the profile, applied with a digit key to the selection, and with a click in an incident', async ({ page }) => {
  const settings: SettingsView = { settings: { theme: 'system', syncEverySecs: null, logLevel: 'info', notifications: { rules: {}, quietHours: null, pausedUntil: null }, closeToTray: false, macros: {} }, defaultProfile: null, problem: null };
  await mockIpc(page, {
    ...signedIn,
    getSettings: () => mock.data.settings ?? null!,
    saveSettings: (s) => {
      const next = { ...mock.data.settings!.settings, macros: Object.fromEntries(Object.entries(s.macros ?? {}).map(([k, list]) => [k, list.map((m) => ({
        name: m.name ?? '', key: m.key ?? null, status: m.status ?? null, classification: m.classification ?? null,
        determination: m.determination ?? null, addTags: m.addTags ?? [], note: m.note ?? '',
      }))])) };
      mock.data.settings = { ...mock.data.settings!, settings: next };
      return next;
    },
    applyMacro: (name, targets) => {
      const saved = targets.map((t) => {
        const i = { ...mock.state.incidents.find((x) => x.id === t.id)!, status: 'resolved', classification: 'falsePositive', lastUpdate: new Date().toISOString() };
        mock.write(i);
        return i;
      });
      return { saved, skipped: [], failed: [] };
    },
  }, data({ settings }));
  const asked: string[] = [];
  page.on('dialog', (d) => { asked.push(d.message()); d.accept(); });
  await page.goto('/');
  await page.getByTestId('open-settings').click();
  await page.getByTestId('macro-name').fill('False positive — security testing');
  await page.getByTestId('macro-key').selectOption('1');
  await page.getByTestId('macro-status').selectOption('resolved');
  await page.getByTestId('macro-classification').selectOption('informationalExpectedActivity');
  await page.getByTestId('macro-determination').selectOption('securityTesting');
  await page.getByTestId('macro-tag').fill('Red team');
  await page.getByTestId('macro-note').fill('Red team exercise, confirmed by {me} on {date}.');
  await page.getByTestId('macro-add').click();
  await expect(page.getByTestId('settings-macro')).toHaveCount(1);
  const [[saved]] = await calls(page, 'saveSettings');
  expect(saved.macros).toEqual({ Sandbox: [{ name: 'False positive — security testing', key: 1, status: 'resolved', classification: 'informationalExpectedActivity',
    determination: 'securityTesting', addTags: ['Red team'], note: 'Red team exercise, confirmed by {me} on {date}.' }] });
  await page.getByTestId('settings-close').click();

  // Key 1 on a selection of two: confirmed with the count, applied by name.
  await page.locator('[data-id="101"]').click({ modifiers: ['Control'] });
  await page.locator('[data-id="102"]').click({ modifiers: ['Control'] });
  await page.keyboard.press('1');
  await expect(page.getByTestId('bulk-result')).toContainText('Saved 2');
  expect(asked[0]).toMatch(/^Apply “False positive — security testing” to 2 incidents\?/);
  const [[name, targets]] = await calls(page, 'applyMacro');
  expect(name).toBe('False positive — security testing');
  expect(targets.map((t) => t.id).sort()).toEqual(['101', '102']);
  // A key with no macro does nothing.
  await page.keyboard.press('7');
  expect(await calls(page, 'applyMacro')).toHaveLength(1);

  // In an incident: its button applies it to that one.
  await page.getByTestId('presets').selectOption('All incidents');
  await page.locator('[data-id="105"]').dblclick();
  await page.getByTestId('detail-macros').getByRole('button', { name: 'False positive — security testing' }).click();
  await expect.poll(async () => (await calls(page, 'applyMacro')).length).toBe(2);
  const [, [, one]] = await calls(page, 'applyMacro');
  expect(one).toEqual([{ id: '105', seenLastUpdate: INCIDENTS[4].lastUpdate }]);
});

test('the overview counts by severity and status', async ({ page }) => {
  await mockIpc(page, signedIn, data());
  await page.goto('/');
  await page.getByTestId('overview-toggle').click();
  await expect(page.getByTestId('bar-high')).toHaveText('3');
  await expect(page.getByTestId('bar-informational')).toHaveText('1');
});

test('hostile data does not stop a view: repeated tags and alerts, a saved filter named like a built-in one', async ({ page }) => {
  const resolvedOnly = { statuses: ['resolved'], severities: [], assignment: 'any', range: 'any', tag: '', source: '', search: '' };
  await page.addInitScript((f) => {
    // What Queue.svelte keeps in local storage (lib/queue.ts `save`): not trusted to be unique.
    localStorage.setItem('incident-desk:savedFilters', JSON.stringify([{ name: 'All incidents', filter: f }, { name: 'All incidents', filter: f }]));
    localStorage.setItem('incident-desk:columns', JSON.stringify(['severity', 'id', 'id', 'displayName', 'tags', 'tags']));
  }, resolvedOnly);
  const incidents = [
    incident(101, { displayName: 'Ransomware activity on srv-01', severity: 'high', tags: ['dup', 'dup', 'other'], systemTags: ['AttackDisruption', 'AttackDisruption'] }),
    ...INCIDENTS.slice(1),
  ];
  await mockIpc(page, signedIn, data({ incidents, alerts: { '101': [ALERT, ALERT, { ...ALERT, title: 'Same ID, other alert' }] } }));
  await page.goto('/');
  await expect(rows(page)).toHaveCount(2);
  await expect(page.locator('[data-id="101"]')).toContainText('dup, dup, other');
  // The tag filter lists a tag once.
  await expect(page.getByLabel('Tag').locator('option', { hasText: 'dup' })).toHaveCount(1);

  // The built-in "All incidents", then the saved one of the same name (resolved only).
  const presets = page.getByTestId('presets');
  await expect(presets.locator('option', { hasText: 'All incidents' })).toHaveCount(3);
  await presets.selectOption({ index: 4 });
  await expect(rows(page)).toHaveCount(5);
  await presets.selectOption({ index: 5 });
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toHaveAttribute('data-id', '104');
  await presets.selectOption({ index: 4 });
  await expect(rows(page)).toHaveCount(5);

  // The detail, with repeated tags and alerts.
  await page.locator('[data-id="101"]').dblclick();
  await expect(page.getByTestId('alerts').locator('li')).toHaveCount(3);
  await expect(page.getByTestId('detail').locator('.facts .chip')).toHaveCount(5);
  await expect(page.getByTestId('detail').locator('.chips.editable .chip')).toHaveCount(3);
  // Still working: triage saves, and the queue still filters.
  await page.getByTestId('triage-comment').fill('seen');
  await page.getByTestId('triage-save').click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();
  await page.getByTestId('search').fill('ransomware');
  await expect(rows(page)).toHaveCount(1);
  expect(pageErrors).toEqual([]);
});

test('settings: theme, log level and sync interval apply at once; the default profile; edit keeps a stored secret', async ({ page }) => {
  const app: ProfileView = { ...CONTOSO, application: true, credential: 'secret', clientId: 'app-1' };
  const settings: SettingsView = { settings: { theme: 'system', syncEverySecs: null, logLevel: 'info', notifications: { rules: {}, quietHours: null, pausedUntil: null }, closeToTray: false, macros: {} }, defaultProfile: 'Contoso', problem: null };
  await page.clock.install();
  await mockIpc(page, {
    ...signedIn,
    getSettings: () => mock.data.settings ?? null!,
    saveSettings: (s) => ({
      theme: s.theme ?? 'system', syncEverySecs: s.syncEverySecs ?? null, logLevel: s.logLevel ?? 'info', closeToTray: s.closeToTray ?? false,
      notifications: {
        rules: Object.fromEntries(Object.entries(s.notifications?.rules ?? {}).map(([k, r]) => [k, {
          enabled: r.enabled ?? true, newAtOrAbove: r.newAtOrAbove ?? null, assignedToMe: r.assignedToMe ?? true, alertsOnMine: r.alertsOnMine ?? true,
        }])),
        quietHours: s.notifications?.quietHours ?? null,
        pausedUntil: s.notifications?.pausedUntil ?? null,
      },
      macros: Object.fromEntries(Object.entries(s.macros ?? {}).map(([k, list]) => [k, list.map((m) => ({
        name: m.name ?? '', key: m.key ?? null, status: m.status ?? null, classification: m.classification ?? null,
        determination: m.determination ?? null, addTags: m.addTags ?? [], note: m.note ?? '',
      }))])),
    }),
    setDefaultProfile: () => null,
    updateProfile: () => mock.data.view,
    removeProfile: () => mock.data.view,
  }, data({ view: view({ profile: app, profiles: [app, FABRIKAM, PROFILE] }), settings }));
  page.on('dialog', (d) => d.accept());
  await page.goto('/');
  await expect(rows(page)).toHaveCount(2);

  await page.getByTestId('open-settings').click();
  const list = page.getByTestId('settings-profile');
  await expect(list).toHaveCount(3);
  await expect(list.nth(0)).toContainText('The application (client secret)');
  await expect(list.nth(1)).toContainText('An analyst (browser)');
  await expect(list.nth(0).getByTestId('settings-default')).toBeChecked();
  // The sandbox profile is neither edited nor removed here.
  await expect(list.nth(2).getByTestId('settings-edit')).toHaveCount(0);

  // The theme applies to the whole window at once, and is saved.
  await page.getByTestId('settings-theme-dark').check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.getByTestId('settings-theme-light').check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await page.getByTestId('settings-log-level').selectOption('debug');
  await expect(page.getByTestId('settings-saved')).toBeVisible();
  expect((await calls(page, 'saveSettings')).map(([s]) => [s.theme, s.logLevel])).toEqual([['dark', 'info'], ['light', 'info'], ['light', 'debug']]);

  await list.nth(1).getByTestId('settings-default').check();
  expect(await calls(page, 'setDefaultProfile')).toEqual([['Fabrikam']]);

  // The window has no timer of its own: the background sync (in Rust) runs on the saved interval.
  const before = await count(page, 'syncIncidents');
  await page.clock.runFor(120_000);
  expect(await count(page, 'syncIncidents')).toBe(before);
  await page.getByTestId('settings-sync-every').selectOption({ label: 'Every 30 seconds' });
  const last = async () => (await calls(page, 'saveSettings')).at(-1)![0];
  expect((await last()).syncEverySecs).toBe(30);

  // Notification rules for the open profile, quiet hours, a pause, the tray.
  await page.getByTestId('settings-notify-severity').selectOption('medium');
  expect((await last()).notifications?.rules).toEqual({ Contoso: { enabled: true, newAtOrAbove: 'medium', assignedToMe: true, alertsOnMine: true } });
  await page.getByTestId('settings-notify-assigned').uncheck();
  expect((await last()).notifications?.rules?.Contoso?.assignedToMe).toBe(false);
  await page.getByTestId('settings-quiet').check();
  expect((await last()).notifications?.quietHours).toEqual({ fromMinute: 22 * 60, toMinute: 7 * 60, utcOffsetMinutes: 0 });
  await page.getByTestId('settings-pause').click();
  const until = Date.parse((await last()).notifications?.pausedUntil ?? '');
  expect(until - (await page.evaluate(() => Date.now()))).toBeGreaterThan(3_500_000);
  await page.getByTestId('settings-resume').click();
  expect((await last()).notifications?.pausedUntil).toBeNull();
  await page.getByTestId('settings-close-to-tray').check();
  expect((await last()).closeToTray).toBe(true);
  await page.getByTestId('settings-close').click();

  // A background sync of the open profile: the count, the queue and the feed follow; another
  // profile's sync changes nothing here.
  await page.evaluate(() => {
    mock.state.incidents.push({ ...mock.state.incidents[0], id: '106', displayName: 'Arrived in the background', lastUpdate: '2026-11-20T23:00:00Z' });
    mock.sync('2026-11-20T23:00:00Z');
  });
  await emit(page, 'backgroundSynced', { profile: 'Fabrikam', current: false, total: 99, syncedAt: '2026-11-20T23:00:00Z', changes: 0 });
  await expect(page.getByTestId('count')).toHaveText('5 incidents');
  await emit(page, 'backgroundSynced', { profile: 'Contoso', current: true, total: 6, syncedAt: '2026-11-20T23:00:00Z', changes: 1 });
  await expect(page.getByTestId('count')).toHaveText('6 incidents');
  await expect(page.locator('[data-id="106"]')).toBeVisible();
  expect(await count(page, 'syncIncidents'), 'the window did not sync itself').toBe(before);
  // Its state, quietly: waiting for the API's quota, then synced again.
  await emit(page, 'backgroundWaiting', { seconds: 20 });
  await expect(page.getByTestId('sync-state')).toHaveText("Waiting for the API's quota");
  await emit(page, 'backgroundSynced', { profile: 'Contoso', current: true, total: 6, syncedAt: new Date(await page.evaluate(() => Date.now())).toISOString(), changes: 0 });
  await expect(page.getByTestId('sync-state')).toHaveText('Synced just now');

  // Editing an application profile: the name stays, the stored secret is kept when none is typed.
  await page.getByTestId('open-settings').click();
  await list.nth(0).getByTestId('settings-edit').click();
  await expect(page.getByTestId('setup')).toContainText('Edit the profile “Contoso”');
  await expect(page.getByTestId('setup-name')).toHaveValue('Contoso');
  await expect(page.getByTestId('setup-name')).toHaveAttribute('readonly', '');
  await expect(page.getByTestId('setup-client')).toHaveValue('app-1');
  await expect(page.getByTestId('setup-as-secret')).toBeChecked();
  await expect(page.getByTestId('setup-secret')).toHaveValue('');
  await page.getByText('Advanced').click();
  await page.getByTestId('setup-proxy').fill('http://proxy.contoso.test:8080');
  await page.getByTestId('setup-save').click();
  await expect(rows(page), 'the one the background sync brought too').toHaveCount(3);
  const [[edited]] = await calls(page, 'updateProfile');
  // Still the application with a secret; null: the one in the keychain is kept.
  expect(edited).toMatchObject({ name: 'Contoso', clientId: 'app-1', proxy: 'http://proxy.contoso.test:8080', application: { credential: 'secret', secret: null } });

  // Removing from the settings names the profile, after asking.
  await page.getByTestId('open-settings').click();
  await list.nth(1).getByTestId('settings-remove').click();
  await expect.poll(() => calls(page, 'removeProfile')).toEqual([['Fabrikam']]);
});

test('settings that cannot be read say why and show the defaults', async ({ page }) => {
  const broken: SettingsView = {
    settings: { theme: 'system', syncEverySecs: 60, logLevel: 'info', notifications: { rules: {}, quietHours: null, pausedUntil: null }, closeToTray: false, macros: {} },
    defaultProfile: null,
    problem: '/home/a/.config/incident-desk/settings.json is not a valid settings file: expected value at line 1 column 1',
  };
  await mockIpc(page, { ...signedIn, getSettings: () => mock.data.settings ?? null! }, data({ settings: broken }));
  await page.goto('/');
  await page.getByTestId('open-settings').click();
  await expect(page.getByTestId('settings-problem')).toContainText('is not a valid settings file');
  await expect(page.getByTestId('settings-sync-every')).toHaveValue('60');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('settings')).toHaveCount(0);
});
