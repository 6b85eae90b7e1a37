// The theme on <html data-theme>: the setting's, or the system's while the setting is "system"
// (followed live, as the desktop switches between light and dark).
import type { Theme } from './ipc';

const dark = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
let chosen: Theme = 'system';

function apply() {
  const effective = chosen === 'system' ? (dark?.matches ? 'dark' : 'light') : chosen;
  document.documentElement.dataset.theme = effective;
}

dark?.addEventListener('change', apply);

export function setTheme(theme: Theme) {
  chosen = theme;
  apply();
}

/** Before anything is shown: the system's theme, until the settings are read. */
export function initTheme() {
  apply();
}
