// Opens an HTML incident report in headless Chromium and checks that nothing in it runs or loads:
// no script executes, no dialog opens, no request leaves the page, and the incident strings are
// on the page as text. Usage: node open-report.mjs <report.html> <hostile string>...
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, ...strings] = process.argv.slice(2);
if (!file) {
  console.error('usage: open-report.mjs <report.html> <string>...');
  process.exit(2);
}
const home = mkdtempSync(join(tmpdir(), 'report-browser-'));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS || 'disabled:', NO_AT_BRIDGE: '1',
    HOME: home, XDG_CONFIG_HOME: `${home}/.config`, XDG_CACHE_HOME: `${home}/.cache`, XDG_DATA_HOME: `${home}/.local/share` },
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', '--password-store=basic'],
});
const problems = [];
try {
  const page = await browser.newPage();
  // Scripts would run with this set: any script that runs says so.
  await page.addInitScript(() => { window.__ran = []; });
  page.on('dialog', (d) => { problems.push(`a dialog opened: ${d.message()}`); d.dismiss(); });
  page.on('request', (r) => { if (!r.url().startsWith('file:')) problems.push(`a request left the page: ${r.url()}`); });
  page.on('console', (m) => { if (m.type() === 'error' && !/Content Security Policy/.test(m.text())) problems.push(`console: ${m.text()}`); });
  await page.goto(pathToFileURL(file).href);
  await page.waitForTimeout(500);
  const found = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script, iframe, object, embed, img, svg, form').length,
    handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
    links: [...document.querySelectorAll('a')].map((a) => a.href).filter((h) => !h.startsWith('https:')),
    text: document.body.innerText,
    pwned: window.__pwned ?? null,
  }));
  if (found.scripts) problems.push(`${found.scripts} active elements in the page`);
  if (found.handlers) problems.push(`${found.handlers} elements with event handlers`);
  if (found.links.length) problems.push(`links that are not https: ${found.links.join(' ')}`);
  if (found.pwned !== null) problems.push('a script ran');
  for (const s of strings) if (!found.text.includes(s)) problems.push(`not shown as text: ${JSON.stringify(s)}`);
} finally {
  await browser.close();
  rmSync(home, { recursive: true, force: true });
}
if (problems.length) {
  console.error(`open-report: ${problems.join('\n')}`);
  process.exit(1);
}
console.log(`open-report: nothing in ${file} ran or loaded; ${strings.length} incident strings shown as text`);
