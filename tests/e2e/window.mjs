// A WebDriver session on the app in a real window, through tauri-driver (fixed port 4444).
import { spawnSync } from 'node:child_process';
import { remote } from 'webdriverio';

/** Whether an app process of an earlier session is still going (it may take a moment to exit). */
const running = () => spawnSync('pgrep', ['-x', 'incident-desk']).status === 0;

export async function openApp(application) {
  // One instance per desktop session: an app still exiting would take the new launch's place.
  for (let i = 0; i < 100 && running(); i++) await new Promise((r) => setTimeout(r, 100));
  return remote({
    hostname: '127.0.0.1',
    port: 4444,
    logLevel: 'warn',
    capabilities: { 'tauri:options': { application }, 'wdio:enforceWebDriverClassic': true },
  });
}
