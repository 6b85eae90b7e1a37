// Installs a fake Tauri IPC in the page before the app loads, the way @tauri-apps/api/mocks does:
// `window.__TAURI_INTERNALS__.invoke` answers from a table of handlers given by the test.
// Handlers are strings of JS (they run in the page): `{ get_state: 'return {...}' }`; a handler that
// throws rejects the invoke with that value, as the Rust side's `{code, message}` errors do.
export async function mockIpc(page, handlers) {
  await page.addInitScript((handlers) => {
    const AsyncFunction = (async () => {}).constructor;
    const fns = Object.fromEntries(Object.entries(handlers).map(([k, body]) => [k, new AsyncFunction('args', 'state', body)]));
    const state = { calls: [] };
    let nextId = 1;
    window.__IPC_STATE__ = state;
    window.__TAURI_INTERNALS__ = {
      metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
      transformCallback(cb) {
        const id = nextId++;
        window[`_${id}`] = cb;
        return id;
      },
      unregisterCallback(id) { delete window[`_${id}`]; },
      async invoke(cmd, args) {
        state.calls.push(cmd);
        if (cmd === 'plugin:event|listen') return nextId++;
        if (cmd === 'plugin:event|unlisten') return null;
        const fn = fns[cmd];
        if (!fn) throw { code: 'config', message: `unmocked command ${cmd}` };
        return await fn(args, state);
      },
    };
    window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener() {} };
  }, handlers);
}
