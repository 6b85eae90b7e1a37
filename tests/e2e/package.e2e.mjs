// The installed package as a user meets it: the app from the unpacked .deb, started in a real
// window with an empty home and nothing configured, opens on the first-run setup.
import { openApp, screenshot } from './window.mjs';
import assert from 'node:assert/strict';

const b = await openApp(process.env.APP_BIN);
try {
  const setup = await b.$('[data-testid="setup"]');
  await setup.waitForExist({ timeout: 30000 });
  assert.match(await setup.getText(), /Connect Incident Desk to your tenant/, 'the first-run setup is shown');
  assert.equal(await b.getTitle(), 'Incident Desk');
  await screenshot(b, `${process.env.E2E_WORK}/package-first-run.png`);
  // About names the installed build and where its log goes.
  await (await b.$('[data-testid="open-about"]')).click();
  const version = await b.$('[data-testid="about-version"]');
  await version.waitForExist({ timeout: 15000 });
  assert.match(await version.getText(), /^\d+\.\d+\.\d+$/);
  assert.match(await (await b.$('[data-testid="about-log"]')).getText(), /\.local\/state\/incident-desk\/logs\/incident-desk\.log$/);
  await screenshot(b, `${process.env.E2E_WORK}/about.png`);
  console.log('package e2e: passed');
} finally {
  await b.deleteSession();
}
