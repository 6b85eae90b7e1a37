// First run in the real window: no profile and no sandbox announced, so the app opens on the setup.
// The analyst fills in a tenant (here the sandbox's, under "Advanced"), tests the connection, saves,
// and signs in to the new profile.
import { openApp } from './window.mjs';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const line = process.env.E2E_SANDBOX;
const field = (name) => new RegExp(` ${name}=(\\S+)`).exec(line)[1];
const issuer = field('issuer');
const b = await openApp(process.env.APP_BIN);
try {
  const setup = await b.$('[data-testid="setup"]');
  await setup.waitForExist({ timeout: 30000 });
  assert.match(await setup.getText(), /Mobile and desktop applications/, 'the app-registration guide is shown');
  await (await b.$('[data-testid="setup-name"]')).setValue('Lab');
  await (await b.$('[data-testid="setup-tenant"]')).setValue(field('tenant'));
  await (await b.$('[data-testid="setup-client"]')).setValue(field('client_id'));
  await (await b.$('summary=Advanced')).click();
  await (await b.$('[data-testid="setup-authority"]')).setValue(issuer.replace(/\/v2\.0$/, ''));
  await (await b.$('[data-testid="setup-api-base"]')).setValue(field('graph'));
  await (await b.$('[data-testid="setup-test"]')).click();
  const ok = await b.$('[data-testid="setup-ok"]');
  await ok.waitForExist({ timeout: 15000 });
  assert.match(await ok.getText(), new RegExp(issuer.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), 'the tenant answered with its issuer');
  await (await b.$('[data-testid="setup-save"]')).click();
  const signIn = await b.$('[data-testid="sign-in"]');
  await signIn.waitForClickable({ timeout: 15000 });
  assert.match(await (await b.$('#signin-title')).getText(), /Sign in to Lab/);
  await signIn.click();
  await (await b.$('[data-testid="count"]')).waitForExist({ timeout: 60000 });
  const config = JSON.parse(fs.readFileSync(path.join(process.env.IDESK_CONFIG_DIR, 'profiles.json'), 'utf8'));
  assert.equal(config.current, 'Lab');
  assert.equal(config.profiles[0].tenant, field('tenant'));
  assert.doesNotMatch(JSON.stringify(config), /secret|token|eyJ/i, 'the profiles file holds no secret');

  // A second profile from the account menu: the application itself, proving itself with a
  // certificate. The app reads the PEM file, the tenant checks a signed assertion, and the queue
  // opens as the application, with no browser sign-in.
  await (await b.$('[data-testid="account"]')).click();
  await (await b.$('[data-testid="add-profile"]')).click();
  await (await b.$('[data-testid="setup-name"]')).setValue('Lab app');
  await (await b.$('[data-testid="setup-tenant"]')).setValue(field('tenant'));
  await (await b.$('[data-testid="setup-client"]')).setValue(field('app_cert_client_id'));
  await (await b.$('[data-testid="setup-as-certificate"]')).click();
  assert.match(await (await b.$('[data-testid="setup-guide"]')).getText(), /Certificates & secrets/, 'the guide explains the certificate');
  await (await b.$('summary=Advanced')).click();
  await (await b.$('[data-testid="setup-authority"]')).setValue(issuer.replace(/\/v2\.0$/, ''));
  await (await b.$('[data-testid="setup-api-base"]')).setValue(field('graph'));
  await (await b.$('[data-testid="setup-certificate"]')).setValue(field('app_certificate'));
  await (await b.$('[data-testid="setup-save"]')).click();
  await b.waitUntil(async () => (await (await b.$('[data-testid="account"]')).getText()).includes(`Application ${field('app_cert_client_id')}`),
    { timeout: 30000, timeoutMsg: 'the queue opens as the application' });
  const count = await b.$('[data-testid="count"]');
  await b.waitUntil(async () => /^[1-9]\d* incidents$/.test(await count.getText()), { timeout: 30000, timeoutMsg: 'the application lists the tenant\'s incidents' });
  const saved = JSON.parse(fs.readFileSync(path.join(process.env.IDESK_CONFIG_DIR, 'profiles.json'), 'utf8'));
  const app = saved.profiles.find((p) => p.name === 'Lab app');
  assert.equal(app.kind, 'application');
  assert.equal(app.credential, 'certificate');
  assert.doesNotMatch(JSON.stringify(saved), /PRIVATE KEY|BEGIN|eyJ/, 'the profiles file holds no key');

  // Settings: the certificate profile, edited with no new file, keeps its key (the queue still
  // syncs as the application); the theme applies at once; the choices are kept on disk.
  await (await b.$('[data-testid="open-settings"]')).click();
  const rows = await b.$$('[data-testid="settings-profile"]');
  assert.equal(rows.length, 2, 'both profiles are listed');
  await (await b.$('[data-testid="settings-theme-dark"]')).click();
  await b.waitUntil(async () => (await b.execute(() => document.documentElement.dataset.theme)) === 'dark',
    { timeout: 5000, timeoutMsg: 'the dark theme applies at once' });
  await (await b.$('[data-testid="settings-sync-every"]')).selectByVisibleText('Every 5 minutes');
  await (await b.$('[data-testid="settings-notify-severity"]')).selectByAttribute('value', 'medium');
  await (await b.$('[data-testid="settings-log-level"]')).selectByAttribute('value', 'debug');
  await (await b.$('[data-testid="settings-saved"]')).waitForExist({ timeout: 5000 });
  // A triage macro for the open profile.
  await (await b.$('[data-testid="macro-name"]')).setValue('Benign — line of business');
  await (await b.$('[data-testid="macro-key"]')).selectByAttribute('value', '2');
  await (await b.$('[data-testid="macro-classification"]')).selectByAttribute('value', 'informationalExpectedActivity');
  await (await b.$('[data-testid="macro-determination"]')).selectByAttribute('value', 'lineOfBusinessApplication');
  await (await b.$('[data-testid="macro-note"]')).setValue('Known tool, checked by {me}.');
  await (await b.$('[data-testid="macro-add"]')).click();
  await (await b.$('[data-testid="settings-macro"]')).waitForExist({ timeout: 5000 });
  await (await rows[0].$('[data-testid="settings-default"]')).click();
  const settings = () => JSON.parse(fs.readFileSync(path.join(process.env.IDESK_CONFIG_DIR, 'settings.json'), 'utf8'));
  await b.waitUntil(async () => settings().logLevel === 'debug', { timeout: 5000, timeoutMsg: 'the settings are saved' });
  await b.waitUntil(async () => Object.keys(settings().macros ?? {}).length === 1, { timeout: 5000, timeoutMsg: 'the macro is saved' });
  const { notifications, macros, ...rest } = settings();
  assert.deepEqual(rest, { theme: 'dark', syncEverySecs: 300, logLevel: 'debug', closeToTray: false });
  assert.deepEqual(Object.values(macros), [[{ name: 'Benign — line of business', key: 2, status: 'resolved', classification: 'informationalExpectedActivity',
    determination: 'lineOfBusinessApplication', addTags: [], note: 'Known tool, checked by {me}.' }]], 'the open profile\'s macro');
  assert.deepEqual(Object.values(notifications.rules), [{ enabled: true, newAtOrAbove: 'medium', assignedToMe: true, alertsOnMine: true }],
    'the open profile\'s notification rule');
  assert.deepEqual([notifications.quietHours, notifications.pausedUntil], [null, null]);
  const editButtons = await b.$$('[data-testid="settings-edit"]');
  await editButtons[1].click();
  assert.equal(await (await b.$('[data-testid="setup-name"]')).getValue(), 'Lab app');
  await (await b.$('[data-testid="setup-save"]')).click();
  await (await b.$('[data-testid="count"]')).waitForExist({ timeout: 30000 });
  await (await b.$('[data-testid="refresh"]')).click();
  await b.waitUntil(async () => /^Synced /.test(await (await b.$('[data-testid="sync-state"]')).getText()),
    { timeout: 30000, timeoutMsg: 'the edited certificate profile still syncs with its kept key' });
  const after = JSON.parse(fs.readFileSync(path.join(process.env.IDESK_CONFIG_DIR, 'profiles.json'), 'utf8'));
  assert.equal(after.current, 'Lab', 'the profile chosen to open at start');
  assert.equal(after.profiles.find((p) => p.name === 'Lab app').credential, 'certificate');
  console.log('setup e2e: passed');
} finally {
  await b.deleteSession();
}
