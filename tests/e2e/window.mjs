// A WebDriver session on the app in a real window, through tauri-driver (fixed port 4444).
import { spawnSync } from 'node:child_process';
import { remote } from 'webdriverio';

/** Whether an app process of an earlier session is still going (it may take a moment to exit). */
const running = () => spawnSync('pgrep', ['-x', 'incident-desk']).status === 0;

/** Waits (up to 10 s) until no app process of an earlier session is left: one instance per
 * desktop session, so an app still exiting would take a new launch's place. */
export async function appExited() {
  for (let i = 0; i < 100 && running(); i++) await new Promise((r) => setTimeout(r, 100));
}

export async function openApp(application) {
  await appExited();
  return remote({
    hostname: '127.0.0.1',
    port: 4444,
    logLevel: 'warn',
    capabilities: { 'tauri:options': { application }, 'wdio:enforceWebDriverClassic': true },
  });
}

/** Saves a screenshot of the window. Without GPU compositing (the app's default on Linux) WebKit
 * takes it after the page's next paint, and a page that has stopped changing may not paint again
 * (WebKitGTK 2.50): a dot in the corner changes for a couple of seconds, so a paint comes. */
export async function screenshot(b, file) {
  await b.execute(() => {
    const dot = document.createElement('div');
    dot.setAttribute('aria-hidden', 'true');
    Object.assign(dot.style, { position: 'fixed', right: '0', bottom: '0', width: '1px', height: '1px', pointerEvents: 'none', zIndex: '2147483647' });
    document.body.append(dot);
    let n = 0;
    const step = () => {
      dot.style.backgroundColor = n % 2 ? 'rgba(128, 128, 128, 0.02)' : 'rgba(128, 128, 128, 0.03)';
      if (++n < 120) requestAnimationFrame(step);
      else dot.remove();
    };
    requestAnimationFrame(step);
  });
  await b.saveScreenshot(file);
}
