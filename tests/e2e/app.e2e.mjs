// The desktop app in a real window (WebDriver through tauri-driver), signing in on the sandbox
// tenant with headless Chromium as the system browser, then restarting and signing out.
import { remote } from 'webdriverio';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const work = process.env.E2E_WORK;
const app = process.env.APP_BIN;
const service = process.env.IDESK_KEYCHAIN_SERVICE;
const tenant = / tenant=(\S+)/.exec(process.env.IDESK_SANDBOX)[1];
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const expected = JSON.parse(execFileSync(path.join(root, 'target/debug/sandbox-api'), ['dump', '--tenant', tenant]));
const STATUS = { active: 'Active', inProgress: 'In progress', resolved: 'Resolved' };

// secret-tool prints secrets on stdout and attributes on stderr: keep both.
const keychain = () => {
  const r = spawnSync('secret-tool', ['search', '--all', 'service', service], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
};
const launch = () => remote({
  hostname: '127.0.0.1',
  port: 4444,
  logLevel: 'warn',
  capabilities: { 'tauri:options': { application: app }, 'wdio:enforceWebDriverClassic': true },
});
const rowsOf = (b) => b.execute(() => [...document.querySelectorAll('[data-testid="incident-row"]')]
  .map((r) => ({ id: r.dataset.id, cells: [...r.cells].map((c) => c.textContent.trim()) })));

async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  console.log(`app e2e: ${name} (${Date.now() - t0} ms)`);
}

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
    const rows = await rowsOf(b);
    const byId = new Map(expected.map((i) => [i.id, i]));
    assert.equal(rows.length, expected.length, 'one row per incident, all pages fetched');
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
    const injected = await b.execute(() => document.querySelectorAll('table img, table script, table svg').length);
    assert.equal(injected, 0, 'markup in incident titles never becomes elements');
    await b.saveScreenshot(path.join(work, 'queue.png'));
  });

  await step('keeps the refresh token in the keychain', async () => {
    assert.match(keychain(), /attribute\.username = refresh-token:Sandbox$/m);
    refreshToken = execFileSync('secret-tool', ['lookup', 'service', service, 'username', 'refresh-token:Sandbox#0'], { encoding: 'utf8' });
    assert.ok(refreshToken.length > 20, 'the stored value is a token');
  });
} finally {
  await b.deleteSession();
}

b = await launch();
try {
  await step('signs in silently after a restart', async () => {
    await (await b.$('[data-testid="count"]')).waitForExist({ timeout: 60000 });
    assert.match(await (await b.$('[data-testid="account"]')).getText(), /^alice@/);
    assert.equal((await rowsOf(b)).length, expected.length);
  });

  await step('signs out', async () => {
    await (await b.$('[data-testid="sign-out"]')).click();
    await (await b.$('[data-testid="sign-in"]')).waitForExist({ timeout: 15000 });
    assert.doesNotMatch(keychain(), /refresh-token:Sandbox/, 'sign-out removes the keychain entry');
    await b.saveScreenshot(path.join(work, 'signed-out.png'));
  });
} finally {
  await b.deleteSession();
}

await step('leaves no token in files or logs', async () => {
  const jwt = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]+/;
  const dirs = [work, process.env.IDESK_CONFIG_DIR, process.env.IDESK_DATA_DIR];
  const files = dirs.filter((d) => d && fs.existsSync(d))
    .flatMap((d) => fs.readdirSync(d, { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile() && !f.name.endsWith('.png'))
      .map((f) => path.join(f.parentPath ?? f.path, f.name)));
  assert.ok(files.some((f) => f.endsWith('app-and-driver.log')), 'the app log is among the files checked');
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    assert.ok(!text.includes(refreshToken.trim()), `refresh token found in ${f}`);
    assert.ok(!jwt.test(text), `a JWT found in ${f}`);
  }
});
console.log('app e2e: passed');
