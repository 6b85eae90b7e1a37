// The desktop app in a real window (WebDriver through tauri-driver), signing in on the sandbox
// tenant with headless Chromium as the system browser, then restarting and signing out.
import { openApp, screenshot } from './window.mjs';
import { startNotifications } from '../support/notifications.mjs';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const work = process.env.E2E_WORK;
const app = process.env.APP_BIN;
const service = process.env.IDESK_KEYCHAIN_SERVICE;
const tenant = / tenant=(\S+)/.exec(process.env.IDESK_SANDBOX)[1];
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const expected = JSON.parse(execFileSync(path.join(root, 'target/debug/sandbox-api'), ['dump', '--tenant', tenant]));
/** What the queue lists: merged incidents (status redirected) only when asked for. */
const listed = expected.filter((i) => i.status !== 'redirected');
const STATUS = { active: 'Active', inProgress: 'In progress', resolved: 'Resolved' };

// secret-tool prints secrets on stdout and attributes on stderr: keep both.
const keychain = () => {
  const r = spawnSync('secret-tool', ['search', '--all', 'service', service], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
};
const launch = () => openApp(app);
const SANDBOX_API = / graph=(\S+)\/v1\.0/.exec(process.env.IDESK_SANDBOX)[1];
const peek = async (id) => (await fetch(`${SANDBOX_API}/_sandbox/incidents/${id}`)).json();
const cacheFiles = () => {
  const dir = path.join(process.env.IDESK_DATA_DIR, 'cache');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

// The app's sandbox tenant, stopped and started again on the same ports for the offline start.
// The restarted one is this script's: it stops when our stdin pipe to it closes, however we end.
const ports = { idp: new URL(/ issuer=(\S+)/.exec(process.env.IDESK_SANDBOX)[1]).port, api: new URL(SANDBOX_API).port };
let restarted = null;
async function stopSandbox() {
  const pid = Number(process.env.E2E_SANDBOX_PID);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try { process.kill(pid, 0); } catch { break; }
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < 100 && (await fetch(`${SANDBOX_API}/_sandbox/stats`).then(() => true, () => false)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
}
// On the same ports, as the app knows them. A start that says nothing in 30 s is stopped and tried
// once more, as scripts/sandbox-start.sh does for the others (node was seen to hang, rarely).
async function startSandbox() {
  const log = path.join(work, 'logs', 'sandbox-app-restarted.log');
  for (let attempt = 1; attempt <= 2; attempt++) {
    const logFd = fs.openSync(log, 'a');
    restarted = spawn('node', ['sandbox/start.mjs'], {
      cwd: root,
      stdio: ['pipe', 'pipe', logFd],
      env: { ...process.env, SANDBOX_IDP_PORT: ports.idp, SANDBOX_API_PORT: ports.api, SANDBOX_STATE_DIR: process.env.E2E_SANDBOX_STATE, SANDBOX_EXIT_WITH_STDIN: '1' },
    });
    fs.closeSync(logFd); // the child has its own
    const child = restarted;
    const announced = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(false), 30000);
      child.stdout.on('data', (d) => { if (/^SANDBOX /m.test(String(d))) { clearTimeout(timer); resolve(true); } });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the restarted sandbox exited (${code}); its log: ${log}`)); });
    });
    if (announced) return;
    child.removeAllListeners('exit');
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL'); // a hung main thread never runs the SIGTERM handler
    await gone;
    console.error(`e2e: the restarted sandbox said nothing within 30 s (attempt ${attempt} of 2); its log: ${log}`);
  }
  throw new Error(`the restarted sandbox did not start, twice; its log: ${log}`);
}

/** Every row of the virtualized queue, collected by scrolling through it. */
async function allRows(b) {
  const seen = new Map();
  await b.execute(() => { document.querySelector('[data-testid="grid-body"]').scrollTop = 0; });
  // Every row in view is read once it is shown: on a busy machine the rows of a new scroll
  // position may arrive after the next step would have scrolled past them.
  const inView = () => b.execute(() => {
    const body = document.querySelector('[data-testid="grid-body"]');
    const shown = new Set([...document.querySelectorAll('[data-testid="incident-row"]')].map((r) => Number(r.getAttribute('aria-rowindex')) - 2));
    const row = 32;
    const total = Number(document.querySelector('[data-testid="incidents"]').getAttribute('aria-rowcount')) - 1;
    const first = Math.floor(body.scrollTop / row);
    const last = Math.min(total, Math.floor((body.scrollTop + body.clientHeight) / row));
    for (let at = first; at < last; at++) if (!shown.has(at)) return false;
    return true;
  });
  for (let guard = 0; guard < 500; guard++) {
    await b.pause(100);
    await b.waitUntil(inView, { timeout: 10000, interval: 50, timeoutMsg: 'the rows in view were never shown' });
    const { rows, done } = await b.execute(() => {
      const body = document.querySelector('[data-testid="grid-body"]');
      const rows = [...document.querySelectorAll('[data-testid="incident-row"]')]
        .map((r) => ({ id: r.dataset.id, cells: [...r.querySelectorAll('[role="gridcell"]:not(.pick)')].map((c) => c.textContent.trim()) }));
      const done = body.scrollTop + body.clientHeight >= body.scrollHeight - 1;
      body.scrollTop += Math.floor(body.clientHeight / 2);
      return { rows, done };
    });
    for (const r of rows) seen.set(r.id, r);
    if (done) break;
  }
  return [...seen.values()];
}

async function choosePreset(b, name) {
  await (await b.$('[data-testid="presets"]')).selectByVisibleText(name);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    // What the window showed when the step failed, beside the run's logs (kept when it fails).
    // (Not waited for past 20 s: a window that stopped drawing is what some failures are.)
    await Promise.race([screenshot(b, path.join(work, 'failed.png')), new Promise((r) => setTimeout(r, 20000))]).catch(() => {});
    console.error(`app e2e: failed: ${name}; the window as it was: ${path.join(work, 'failed.png')}`);
    throw e;
  }
  console.log(`app e2e: ${name} (${Date.now() - t0} ms)`);
}

// The desktop's notification service, on the run's private session bus. Its connection keeps
// node running: it is stopped at the end (a failure ends the script anyway).
const notifications = await startNotifications();
/** Incidents the sandbox made during the run (they are in the store too). */
let madeLive = 0;
const live = async (event) => {
  if (event.kind === 'newIncident') madeLive += 1;
  const r = await fetch(`${SANDBOX_API}/_sandbox/live`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  assert.equal(r.status, 200, `the sandbox made the event: ${await r.clone().text()}`);
  return r.json();
};

let b = await launch();
let refreshToken;
try {
  await step('signs in through the system browser', async () => {
    const signIn = await b.$('[data-testid="sign-in"]');
    await signIn.waitForClickable({ timeout: 30000 });
    assert.match(await (await b.$('.badge')).getText(), /Sandbox/, 'the sandbox profile is marked as such');
    await signIn.click();
    await (await b.$('[data-testid="count"]')).waitForExist({ timeout: 60000 });
    assert.match(await (await b.$('[data-testid="account"]')).getText(), /^alice@/, 'the signed-in account is shown');
  });

  await step('shows exactly the sandbox data set', async () => {
    await choosePreset(b, 'All incidents');
    const rows = await allRows(b);
    const byId = new Map(listed.map((i) => [i.id, i]));
    assert.ok(listed.length < expected.length, 'the data set has merged incidents, left out of the queue');
    const shown = await (await b.$('[data-testid="shown"]')).getText();
    assert.equal(rows.length, listed.length, `one row per incident, all pages fetched (${shown}, collected ${rows.length})`);
    assert.deepEqual(new Set(rows.map((r) => r.id)), new Set(byId.keys()), 'the same incident ids');
    for (const r of rows) {
      const e = byId.get(r.id);
      assert.equal(r.cells[1], e.id);
      assert.equal(r.cells[2], e.displayName, `title of ${e.id} shown literally`);
      assert.equal(r.cells[3], STATUS[e.status]);
      assert.equal(r.cells[4], e.assignedTo ?? 'Unassigned');
      assert.equal(r.cells[0].toLowerCase(), e.severity);
    }
    const hostile = expected.filter((i) => /[<>]/.test(i.displayName));
    assert.ok(hostile.length > 0, 'the data set has hostile titles');
    const injected = await b.execute(() => document.querySelectorAll('main img, main script, [data-testid="incidents"] svg').length);
    assert.equal(injected, 0, 'markup in incident titles never becomes elements');
    assert.equal(await b.execute(() => window.__pwned ?? null), null);
  });

  await step('draws without GPU compositing: the app\'s own process loads no GL driver', async () => {
    // A GL vendor library or driver (Mesa's links LLVM): the web process needs one for its EGL
    // display, so it shows that this machine has one; the app's process has no use for it.
    const gl = /\/(libEGL_\w+|libGLX_\w+|[\w-]+_dri|libLLVM[\w.-]*)\.so/g;
    const pgrep = (...args) => spawnSync('pgrep', args, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const app = pgrep('-x', 'incident-desk');
    assert.equal(app.length, 1, 'one app process');
    // Its web processes are its own children (no sandbox between them).
    const web = pgrep('-x', '-P', app[0], 'WebKitWebProces');
    assert.ok(web.length > 0, 'the app has a web process');
    const mapped = (pids) =>
      pids.flatMap((pid) => {
        try {
          return [...fs.readFileSync(`/proc/${pid}/maps`, 'utf8').matchAll(gl)].map((m) => m[1]);
        } catch (e) {
          if (e.code === 'ENOENT') return []; // gone since pgrep listed it
          throw e;
        }
      });
    assert.ok(mapped(web).length > 0, 'the web process has loaded a GL driver (so the check below can see one)');
    assert.deepEqual([...new Set(mapped(app))], [], 'no GL driver in the app\'s process');
  });

  await step('the default view is active and in progress, not informational', async () => {
    await choosePreset(b, 'Active and in progress');
    const rows = await allRows(b);
    const want = listed.filter((i) => ['active', 'inProgress'].includes(i.status) && i.severity !== 'informational');
    assert.deepEqual(new Set(rows.map((r) => r.id)), new Set(want.map((i) => i.id)));
  });

  await step('opens an incident with alerts, evidence and its hostile text as text', async () => {
    const hostile = listed.find((i) => i.displayName.startsWith('<img'));
    await (await b.$('[data-testid="search"]')).setValue(hostile.id);
    await choosePreset(b, 'All incidents');
    const row = await b.$(`[data-testid="incident-row"][data-id="${hostile.id}"]`);
    await row.waitForExist({ timeout: 10000 });
    await row.doubleClick();
    const title = await b.$('[data-testid="detail-title"]');
    await title.waitForExist({ timeout: 10000 });
    assert.equal(await title.getText(), hostile.displayName);
    await (await b.$('[data-testid="alerts"]')).waitForExist({ timeout: 15000 });
    assert.equal(await b.execute(() => document.querySelectorAll('[data-testid="detail"] img').length), 0);
    await screenshot(b, path.join(work, 'detail.png'));
  });

  await step('triage round trip: assign to me, the API has it, the queue shows it after refresh', async () => {
    const target = listed.find((i) => i.status === 'active' && !i.assignedTo && i.severity === 'high');
    await (await b.$('[data-testid="search"]')).setValue(target.id);
    const row = await b.$(`[data-testid="incident-row"][data-id="${target.id}"]`);
    await row.waitForExist({ timeout: 10000 });
    await row.click();
    await b.keys(['a']); // keyboard: assign the selected incident to me
    for (let i = 0; i < 100 && (await peek(target.id)).assignedTo == null; i++) await b.pause(100);
    const stored = await peek(target.id);
    assert.equal(stored.assignedTo, 'alice@contoso-sandbox.test', 'the sandbox API holds the assignment');
    await (await b.$('[data-testid="refresh"]')).click();
    const rowText = () => b.execute((id) => document.querySelector(`[data-testid="incident-row"][data-id="${id}"]`)?.textContent ?? '', target.id);
    await b.waitUntil(async () => (await rowText()).includes('alice@contoso-sandbox.test'), { timeout: 15000, timeoutMsg: 'the queue does not show the assignment' })
      .catch(async (e) => { throw new Error(`${e.message}: row is ${JSON.stringify(await rowText())}`); });
    await (await b.$('[data-testid="search"]')).clearValue();
    await b.execute(() => { const s = document.querySelector('[data-testid="search"]'); s.value = ''; s.dispatchEvent(new Event('input', { bubbles: true })); });
    await choosePreset(b, 'Active and in progress');
    await b.execute(() => document.activeElement?.blur());
    await b.keys(['Escape']); // close the detail for a clean picture of the queue
    await screenshot(b, path.join(work, 'queue.png'));
  });

  await step('unassigns in the detail view: the API holds no assignee', async () => {
    const target = listed.find((i) => i.status === 'inProgress' && i.assignedTo);
    await (await b.$('[data-testid="search"]')).setValue(target.id);
    await choosePreset(b, 'All incidents');
    const row = await b.$(`[data-testid="incident-row"][data-id="${target.id}"]`);
    await row.waitForExist({ timeout: 10000 });
    await row.doubleClick();
    const assignee = await b.$('[data-testid="triage-assignee"]');
    await assignee.waitForEnabled({ timeout: 15000 });
    await b.waitUntil(async () => (await assignee.getValue()) === target.assignedTo, { timeout: 10000, timeoutMsg: 'the form shows the assignee' });
    await assignee.click();
    await b.keys(['Control', 'a']);
    await b.keys(['Backspace']);
    assert.equal(await assignee.getValue(), '', 'the field is cleared');
    await (await b.$('[data-testid="triage-save"]')).click();
    for (let i = 0; i < 100 && (await peek(target.id)).assignedTo != null; i++) await b.pause(100);
    assert.equal((await peek(target.id)).assignedTo, null, 'the sandbox API holds no assignee');
    await b.waitUntil(async () => (await (await b.$('[data-testid="detail-assigned"]')).getText()) === 'Unassigned', { timeout: 10000, timeoutMsg: 'the detail shows it unassigned' });
    assert.equal(await b.execute(() => document.querySelector('[data-testid="triage-error"]')?.textContent ?? null), null, 'no error');
    await b.keys(['Escape']);
  });

  await step('a live desk: a new high incident elsewhere reaches the queue, the feed and a notification within one sync interval', async () => {
    await b.execute(() => { const s = document.querySelector('[data-testid="search"]'); s.value = ''; s.dispatchEvent(new Event('input', { bubbles: true })); });
    await choosePreset(b, 'All incidents');
    // The background sync every 30 s (saving the setting starts one at once).
    await (await b.$('[data-testid="open-settings"]')).click();
    await (await b.$('[data-testid="settings-sync-every"]')).selectByVisibleText('Every 30 seconds');
    await (await b.$('[data-testid="settings-saved"]')).waitForExist({ timeout: 10000 });
    await (await b.$('[data-testid="settings-close"]')).click();
    await b.pause(2000);
    const made = await live({ kind: 'newIncident', severity: 'high' });
    const t0 = Date.now();
    const row = await b.$(`[data-testid="incident-row"][data-id="${made.id}"]`);
    await row.waitForExist({ timeout: 40000, timeoutMsg: 'the new incident is not in the queue within one interval' });
    console.log(`app e2e: the new incident reached the queue after ${Date.now() - t0} ms`);
    await b.waitUntil(async () => notifications.shown().some((n) => n.summary.includes(`#${made.id}`)), { timeout: 10000, timeoutMsg: 'no notification of the new incident' });
    const note = notifications.shown().find((n) => n.summary.includes(`#${made.id}`));
    assert.equal(note.summary, `New high incident #${made.id}`);
    assert.equal(note.appName, 'Incident Desk');
    assert.ok(note.actions.includes('default'), 'a click opens it');

    // A change by another analyst: in the feed, unseen.
    const other = listed.find((i) => i.status === 'active' && !i.assignedTo && i.severity === 'medium');
    await live({ kind: 'reassign', id: Number(other.id), assignTo: 'bob@contoso-sandbox.test' });
    await (await b.$('[data-testid="changes-toggle"]')).click();
    const group = await b.$(`[data-testid="change-group"][data-id="${other.id}"]`);
    await group.waitForExist({ timeout: 40000, timeoutMsg: 'the reassignment is not in the feed within one interval' });
    assert.match(await group.getText(), /assigned to bob@contoso-sandbox\.test/);
    assert.ok(await (await b.$(`[data-testid="change-group"][data-id="${made.id}"]`)).isExisting(), 'the new incident is in the feed too');
    await screenshot(b, path.join(work, 'changes.png'));

    // Clicking the notification opens its incident.
    await notifications.click(note.id);
    await b.waitUntil(async () => (await (await b.$('[data-testid="detail-title"]')).getText().catch(() => '')) === made.displayName,
      { timeout: 10000, timeoutMsg: 'the clicked notification did not open its incident' });
    await (await b.$('[data-testid="changes-mark-seen"]')).click();
    await b.waitUntil(async () => !(await (await b.$('[data-testid="changes-count"]')).isExisting()), { timeout: 10000, timeoutMsg: 'still unseen' });
    await b.keys(['Escape']);
  });

  await step('a link opens its incident in the running app; a second launch hands over and exits', async () => {
    const target = listed.find((i) => i.status === 'resolved');
    const second = spawnSync(app, [`incidentdesk://${tenant}/incident/${target.id}`], { env: process.env, timeout: 30000, encoding: 'utf8' });
    assert.equal(second.status, 0, `the second launch exits at once (${second.error ?? second.stderr.slice(-500)})`);
    await b.waitUntil(async () => (await (await b.$('[data-testid="detail-title"]')).getText().catch(() => '')) === target.displayName,
      { timeout: 15000, timeoutMsg: 'the link did not open its incident in the running app' });
    assert.equal(spawnSync('pgrep', ['-xc', 'incident-desk'], { encoding: 'utf8' }).stdout.trim(), '1', 'one instance');
    await b.keys(['Escape']);
  });

  await step('bulk triage in the window: a selection with a changed and a merged incident; the sandbox holds what the summary says', async () => {
    // Incidents no other step touches: a merged one and two open ones whose IDs share its prefix.
    const used = new Set([
      listed.find((i) => i.status === 'active' && !i.assignedTo && i.severity === 'high'),
      listed.find((i) => i.status === 'inProgress' && i.assignedTo),
      listed.find((i) => i.status === 'active' && !i.assignedTo && i.severity === 'medium'),
    ].map((i) => i.id));
    let group;
    for (const merged of expected.filter((i) => i.status === 'redirected')) {
      const prefix = merged.id.slice(0, -1);
      const open = listed.filter((i) => i.id.length === merged.id.length && i.id.startsWith(prefix) && ['active', 'inProgress'].includes(i.status) && !used.has(i.id));
      if (open.length >= 2) {
        group = { prefix, merged, saved: open[0], changed: open[1] };
        break;
      }
    }
    assert.ok(group, 'the data set has a merged incident beside two open ones');
    await (await b.$('[data-testid="search"]')).setValue(group.prefix);
    await choosePreset(b, 'All incidents');
    await (await b.$('summary*=Status')).click();
    await (await b.$('[data-testid="show-merged"]')).click();
    await (await b.$('summary*=Status')).click();
    assert.equal(await b.execute(() => document.querySelectorAll('details.menu[open]').length), 0, 'the Status menu is closed again');
    for (const i of [group.merged, group.saved, group.changed]) {
      const check = await b.$(`[data-testid="incident-row"][data-id="${i.id}"] [data-testid="row-check"]`);
      await check.waitForExist({ timeout: 10000 });
      // The bulk panel opens above the queue with the first pick: the next rows move, so each
      // is brought into sight before it is clicked, as a person would scroll to it.
      await b.execute((el) => el.scrollIntoView({ block: 'center' }), check);
      await check.click();
    }
    await b.waitUntil(async () => (await (await b.$('[data-testid="bulk-count"]')).getText()) === '3', { timeout: 10000, timeoutMsg: 'three selected' });
    // Changed elsewhere after it was shown: a new alert.
    await live({ kind: 'newAlert', id: Number(group.changed.id) });
    // The confirmation shows the count first; answered here, as a person would.
    await b.execute(() => { window.__asked = []; window.confirm = (m) => (window.__asked.push(m), true); });
    await (await b.$('[data-testid="bulk-add-tag"]')).setValue('bulk-window');
    await (await b.$('[data-testid="bulk-apply"]')).click();
    const result = await b.$('[data-testid="bulk-result"]');
    await result.waitForExist({ timeout: 30000 });
    assert.match((await b.execute(() => window.__asked))[0], /^Apply to 3 incidents\?/);
    assert.match(await result.getText(), /Saved 1 · skipped 2 · failed 0/);
    const skipped = await (await b.$('[data-testid="bulk-skipped"]')).getText();
    assert.ok(skipped.includes(`#${group.merged.id}: merged into #${group.merged.redirectIncidentId}`), skipped);
    assert.ok(skipped.includes(`#${group.changed.id}: the incident changed since you opened it`), skipped);
    assert.ok((await peek(group.saved.id)).customTags.includes('bulk-window'), 'the sandbox holds the saved change');
    assert.ok(!(await peek(group.changed.id)).customTags.includes('bulk-window'), 'the changed one was not overwritten');
    assert.ok(!(await peek(group.merged.id)).customTags.includes('bulk-window'), 'the merged one was not changed');

    // The merged incident says where it went, and links there.
    await (await b.$('[data-testid="bulk-clear"]')).click();
    // Alone in the view, so the row is in sight whatever the panels above the queue take.
    await b.execute(() => { const s = document.querySelector('[data-testid="search"]'); s.value = ''; s.dispatchEvent(new Event('input', { bubbles: true })); });
    await (await b.$('[data-testid="search"]')).setValue(group.merged.id);
    const mergedRow = `[data-testid="incident-row"][data-id="${group.merged.id}"]`;
    await b.waitUntil(async () => (await b.$$('[data-testid="incident-row"]')).length === 1 && (await (await b.$(mergedRow)).isExisting()),
      { timeout: 10000, timeoutMsg: 'the merged incident alone in the view' });
    await (await b.$(mergedRow)).doubleClick();
    const banner = await b.$('[data-testid="merged"]');
    await banner.waitForExist({ timeout: 15000 });
    assert.match(await banner.getText(), new RegExp(`Merged into #${group.merged.redirectIncidentId}`));
    await (await b.$('[data-testid="merged-into"]')).click();
    const into = expected.find((i) => i.id === group.merged.redirectIncidentId);
    await b.waitUntil(async () => (await (await b.$('[data-testid="detail-title"]')).getText().catch(() => '')) === into.displayName,
      { timeout: 15000, timeoutMsg: 'the link did not open the incident it was merged into' });
    await b.keys(['Escape']);
    await b.execute(() => { const s = document.querySelector('[data-testid="search"]'); s.value = ''; s.dispatchEvent(new Event('input', { bubbles: true })); });
    await choosePreset(b, 'Active and in progress');
  });

  await step('keeps the refresh token in the keychain', async () => {
    assert.match(keychain(), /attribute\.username = refresh-token:Sandbox$/m);
    // The first part of the stored value: the seal naming the profile's identity, then the token.
    // The head names the slot of the parts (`v2 <slot> <parts> <digest>`).
    const slot = execFileSync('secret-tool', ['lookup', 'service', service, 'username', 'refresh-token:Sandbox'], { encoding: 'utf8' }).split(' ')[1];
    const part = execFileSync('secret-tool', ['lookup', 'service', service, 'username', `refresh-token:Sandbox/${slot}0`], { encoding: 'utf8' });
    assert.match(part, /^idesk-bound [0-9a-f]{32}\n/, 'sealed with the profile\'s fingerprint');
    refreshToken = part.slice(part.indexOf('\n') + 1);
    assert.ok(refreshToken.length > 20, 'the stored value is a token');
  });
} finally {
  await b.deleteSession();
}

await stopSandbox();
b = await launch();
try {
  await step('starts offline on the cache, read-only, and says so', async () => {
    const banner = await b.$('[data-testid="offline-banner"]');
    await banner.waitForExist({ timeout: 60000 });
    assert.match(await banner.getText(), /^Offline — last synced \d{1,2}:\d{2}.*· retrying/, 'the banner names the last sync');
    assert.equal(await (await b.$('[data-testid="count"]')).getText(), `${listed.length + madeLive} incidents`, 'every cached incident but the merged');
    assert.match(await (await b.$('[data-testid="account"]')).getText(), /^alice@/, 'the account of the last sync');
    assert.equal(await b.execute(() => document.querySelector('[data-testid="startup-error"]')), null, 'never "cannot start"');
    const hostile = listed.find((i) => i.displayName.startsWith('<img'));
    await (await b.$('[data-testid="search"]')).setValue(hostile.id);
    await choosePreset(b, 'All incidents');
    const row = await b.$(`[data-testid="incident-row"][data-id="${hostile.id}"]`);
    await row.waitForExist({ timeout: 10000 });
    await row.doubleClick();
    await (await b.$('[data-testid="detail-from-cache"]')).waitForExist({ timeout: 15000 });
    assert.ok(await (await b.$('[data-testid="alerts"]')).isExisting(), 'the alerts of an incident opened before, from the cache');
    assert.ok(await (await b.$('[data-testid="offline-read-only"]')).isExisting(), 'triage waits for the tenant');
    await screenshot(b, path.join(work, 'offline.png'));
    await b.keys(['Escape']);
  });

  await step('picks up by itself when the tenant is back', async () => {
    await startSandbox();
    await b.waitUntil(async () => !(await (await b.$('[data-testid="offline-banner"]')).isExisting()), { timeout: 90000, timeoutMsg: 'still offline after the tenant came back' });
    await b.waitUntil(async () => /^Synced /.test(await (await b.$('[data-testid="sync-state"]')).getText()), { timeout: 30000, timeoutMsg: 'no sync after reconnecting' });
    assert.match(await (await b.$('[data-testid="account"]')).getText(), /^alice@/);
  });

  await step('signs out and deletes the cached incidents', async () => {
    assert.ok(cacheFiles().some((f) => f.endsWith('.db')), 'the queue and the details are stored before');
    assert.match(keychain(), /cache-key:Sandbox/);
    await (await b.$('[data-testid="account"]')).click();
    await (await b.$('[data-testid="sign-out-wipe"]')).click();
    await (await b.$('[data-testid="sign-in"]')).waitForExist({ timeout: 15000 });
    assert.deepEqual(cacheFiles(), [], 'no cache file is left');
    assert.doesNotMatch(keychain(), /:Sandbox/, 'no keychain entry of the profile is left, nor any part of one');
    await screenshot(b, path.join(work, 'signed-out.png'));
  });
} finally {
  await b.deleteSession();
  restarted?.stdin.end();
}

await step('leaves no token in files or logs', async () => {
  const jwt = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]+/;
  const dirs = [work, process.env.IDESK_CONFIG_DIR, process.env.IDESK_DATA_DIR];
  const files = dirs.filter((d) => d && fs.existsSync(d))
    .flatMap((d) => fs.readdirSync(d, { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile() && !f.name.endsWith('.png'))
      .map((f) => path.join(f.parentPath ?? f.path, f.name)));
  assert.ok(files.some((f) => f.endsWith('app-and-driver.log')), 'the app\'s standard error is among the files checked');
  const logFile = path.join(process.env.IDESK_LOG_DIR, 'incident-desk.log');
  assert.ok(files.includes(logFile), 'the app\'s log file is among the files checked');
  assert.match(fs.readFileSync(logFile, 'utf8'), /Incident Desk \d+\.\d+\.\d+ \(/, 'the log file says which build ran');
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    assert.ok(!text.includes(refreshToken.trim()), `refresh token found in ${f}`);
    assert.ok(!jwt.test(text), `a JWT found in ${f}`);
  }
});
notifications.stop();
console.log('app e2e: passed');
