// A WebDriver session on the app in a real window, through tauri-driver (fixed port 4444).
import { remote } from 'webdriverio';

export const openApp = (application) => remote({
  hostname: '127.0.0.1',
  port: 4444,
  logLevel: 'warn',
  capabilities: { 'tauri:options': { application }, 'wdio:enforceWebDriverClassic': true },
});
