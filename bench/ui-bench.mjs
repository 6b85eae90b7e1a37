// Times the real window with a large queue: start to first rows from the local cache, applying a
// filter preset, and a search keystroke. Run by scripts/bench.sh; prints figures, asserts nothing.
import { remote } from 'webdriverio';

const launch = () => remote({
  hostname: '127.0.0.1', port: 4444, logLevel: 'error',
  capabilities: { 'tauri:options': { application: process.env.APP_BIN }, 'wdio:enforceWebDriverClassic': true },
});

let b = await launch();
try {
  await (await b.$('[data-testid="sign-in"]')).waitForClickable({ timeout: 30000 });
  await (await b.$('[data-testid="sign-in"]')).click();
  await (await b.$('[data-testid="count"]')).waitForExist({ timeout: 600000 });
  await b.waitUntil(async () => !(await (await b.$('[data-testid="refresh"]')).getText()).includes('Syncing'), { timeout: 600000, interval: 500 });
} finally {
  await b.deleteSession();
}

const t0 = Date.now();
b = await launch();
try {
  await (await b.$('[data-testid="incident-row"]')).waitForExist({ timeout: 120000, interval: 20 });
  const firstRows = Date.now() - t0;
  const count = await (await b.$('[data-testid="count"]')).getText();
  // In the page: time from a change until the rows show it (two animation frames: layout + paint).
  const timed = (action) => b.executeAsync((action, done) => {
    const t = performance.now();
    const el = document.querySelector(action.sel);
    if (action.select) el.value = action.value;
    else el.value = action.value;
    el.dispatchEvent(new Event(action.select ? 'change' : 'input', { bubbles: true }));
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t)));
  }, action);
  const preset = await timed({ sel: '[data-testid="presets"]', select: true, value: 'All incidents' });
  const search = await timed({ sel: '[data-testid="search"]', value: 'ransomware' });
  const clear = await timed({ sel: '[data-testid="search"]', value: '' });
  const scroll = await b.executeAsync((done) => {
    const body = document.querySelector('[data-testid="grid-body"]');
    const t = performance.now();
    body.scrollTop = body.scrollHeight / 2;
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t)));
  });
  console.log(`ui  ${count} in the real window`);
  console.log(`ui  start to first rows from the local cache: ${firstRows} ms (includes launching the app)`);
  console.log(`ui  apply the "All incidents" filter: ${preset.toFixed(0)} ms`);
  console.log(`ui  search "ransomware": ${search.toFixed(0)} ms; clear the search: ${clear.toFixed(0)} ms`);
  console.log(`ui  jump to the middle of the list: ${scroll.toFixed(0)} ms`);
} finally {
  await b.deleteSession();
}
