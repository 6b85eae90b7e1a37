// A fake Tauri IPC, installed in the page before the app loads (as @tauri-apps/api/mocks does):
// `window.__TAURI_INTERNALS__.invoke` answers from handlers the test gives, typed against the
// bindings generated from the Rust commands, so a mock cannot take an argument or return a shape
// the real command does not.
//
// Handlers are keyed by the generated command's name (`getState`, `signOut`, `updateIncident`) and
// take its positional parameters. They run IN THE PAGE: each is serialized with `toString()`, so it
// cannot use the test's variables or imports, only its parameters and the page global `mock`
// (the test's `data`, a mutable `state` with the call log, and helpers such as `mock.error`).
// A handler that throws `mock.error(code, message)` rejects the invoke with it, as the Rust side's
// `{ code, message }` errors do; anything else it throws is a bug in the test, logged in
// `mock.state.handlerErrors` and turned into an `internal` error.

import type { Page } from '@playwright/test';
// Types only: a runtime import would pull @tauri-apps/api into node.
import type { commands, events, ErrorCode, IpcError } from '../../ui/src/lib/ipc/bindings';
import type { Alert, AppView, Incident, SettingsView } from '../../ui/src/lib/ipc';

export type { ErrorCode, IpcError };
// The shapes the UI receives, as the UI names them.
export type { Account, Alert, AppView, Incident, IncidentDetail, ProfileView, SettingsView, TokenInfo } from '../../ui/src/lib/ipc';

type Commands = typeof commands;
export type CommandName = keyof Commands;
export type Args<K extends CommandName> = Parameters<Commands[K]>;
export type Result<K extends CommandName> = Awaited<ReturnType<Commands[K]>>;

export type Handlers = {
  [K in CommandName]?: (...args: Args<K>) => Result<K> | Promise<Result<K>>;
};

type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<K extends EventName> = Parameters<Parameters<Events[K]['listen']>[0]>[0]['payload'];

/** One invoke of a command, as the handler received it. */
export type Call = { [K in CommandName]: { command: K; args: Args<K> } }[CommandName];

/** The test's data, as JSON in the page. */
export interface MockData {
  /** The profile's signed-in view: what getState, connect and signIn usually answer. */
  view: AppView;
  /** The tenant's incidents (the page's `mock.state.incidents` starts as a copy). */
  incidents: Incident[];
  /** Other views, by name (another profile, a signed-out view, ...). */
  views?: Record<string, AppView>;
  /** Each incident's alerts, by incident ID. */
  alerts?: Record<string, Alert[]>;
  /** What getSettings answers. */
  settings?: SettingsView;
}

/** What handlers may change, and what the test reads back. */
export interface MockState {
  /** Every command invoked, in order, with its arguments as they crossed IPC (JSON). */
  calls: Call[];
  /** The tenant's incidents as they are now: starts as `data.incidents`, written by triage. */
  incidents: Incident[];
  /** What handlers threw that is not an IPC error (a ReferenceError, ...): a bug in the test. */
  handlerErrors: string[];
}

/** The page global that handlers use. */
export interface PageMock {
  data: MockData;
  state: MockState;
  /** An error as the Rust side rejects with: `throw mock.error('offline', '...')`. */
  error(code: ErrorCode, message: string): IpcError;
  /** The arguments of each call to `command` so far (the current one included). */
  calls<K extends CommandName>(command: K): Args<K>[];
  /** Emits an event to the app's listeners, as the Rust side does. */
  emit<K extends EventName>(event: K, payload: EventPayload<K>): void;
}

declare global {
  // Exists in the page only (for handlers); not in the test's node process.
  var mock: PageMock;
}

/** Runs in the page, before the app: installs the fake IPC. Self-contained (it is serialized). */
function install(data: MockData, handlers: Record<string, (...args: unknown[]) => unknown>) {
  type Listener = { event: string; id: number };
  const w = window as unknown as Record<string, unknown>;
  const callbacks = new Map<number, (payload: unknown) => void>();
  const listeners: Listener[] = [];
  let nextId = 1;
  const json = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
  const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const isIpcError = (e: unknown) =>
    !!e && typeof e === 'object' && typeof (e as IpcError).code === 'string' && typeof (e as IpcError).message === 'string';

  const state: MockState = { calls: [], incidents: json(data.incidents), handlerErrors: [] };
  const m: PageMock = {
    data,
    state,
    error: (code, message) => ({ code, message }),
    calls: (command) => state.calls.filter((c) => c.command === command).map((c) => c.args) as never,
    emit(event, payload) {
      const name = kebab(event);
      for (const l of listeners.filter((x) => x.event === name)) callbacks.get(l.id)?.({ event: name, id: l.id, payload: json(payload) });
    },
  };
  w.mock = m;

  w.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
    transformCallback(cb: (payload: unknown) => void, once = false) {
      const id = nextId++;
      callbacks.set(id, (p) => {
        if (once) callbacks.delete(id);
        cb(p);
      });
      return id;
    },
    unregisterCallback(id: number) {
      callbacks.delete(id);
    },
    async invoke(cmd: string, args: Record<string, unknown> = {}) {
      if (cmd === 'plugin:event|listen') {
        const { event, handler } = args as { event: string; handler: number };
        listeners.push({ event, id: handler });
        return handler;
      }
      if (cmd === 'plugin:event|unlisten') {
        const { eventId } = args as { eventId: number };
        const at = listeners.findIndex((l) => l.id === eventId);
        if (at >= 0) listeners.splice(at, 1);
        return null;
      }
      const name = camel(cmd);
      // The generated wrappers build the arguments object in parameter order. Each value crosses
      // IPC as JSON, as the real one does: a field set to undefined is gone, null stays null.
      const positional = Object.values(args).map((v) => json(v));
      state.calls.push({ command: name, args: positional } as Call);
      const fn = handlers[name];
      if (!fn) throw m.error('internal', `unmocked command ${cmd}`);
      let result: unknown;
      try {
        result = await fn(...positional);
      } catch (e) {
        if (isIpcError(e)) throw json(e);
        const what = `mock handler ${name} threw ${e instanceof Error ? `${e.name}: ${e.message}` : JSON.stringify(e)}`;
        state.handlerErrors.push(what);
        console.error(what);
        throw m.error('internal', what);
      }
      // A Rust `()` arrives as null.
      return result === undefined ? null : json(result);
    },
  };
  w.__TAURI_EVENT_PLUGIN_INTERNALS__ = {
    unregisterListener(_event: string, id: number) {
      callbacks.delete(id);
    },
  };
}

/** One handler as source for the init script: a function expression, or a method shorthand. */
function source(name: string, fn: unknown): string {
  if (typeof fn !== 'function') throw new Error(`mock handler ${name} is not a function`);
  const src = fn.toString();
  try {
    new Function(`return (${src});`); // parses only
    return `(${src})`;
  } catch {
    // `getState() { ... }` or `async connect() { ... }`.
    return `Object.values({ ${src} })[0]`;
  }
}

/**
 * Installs the mock in `page` (call before `page.goto`). `handlers` run in the page: they see
 * their arguments and the global `mock` (`mock.data` is `data`), nothing of the test around them.
 */
export async function mockIpc(page: Page, handlers: Handlers, data: MockData): Promise<void> {
  const table = Object.entries(handlers)
    .map(([name, fn]) => `${JSON.stringify(name)}: ${source(name, fn)}`)
    .join(',\n');
  await page.addInitScript({ content: `(${install.toString()})(${JSON.stringify(data)}, {\n${table}\n});` });
}

/** The arguments of each call to `command`, in order. */
export async function calls<K extends CommandName>(page: Page, command: K): Promise<Args<K>[]> {
  return (await page.evaluate((c) => mock.calls(c), command)) as Args<K>[];
}

/** The commands invoked, in order. */
export async function commandLog(page: Page): Promise<CommandName[]> {
  return page.evaluate(() => mock.state.calls.map((c) => c.command));
}

/** What handlers threw that was not an IPC error: each is a bug in the test. */
export async function handlerErrors(page: Page): Promise<string[]> {
  return page.evaluate(() => mock.state.handlerErrors);
}

/** Emits an event from "Rust" to the app. */
export async function emit<K extends EventName>(page: Page, event: K, payload: EventPayload<K>): Promise<void> {
  await page.evaluate(([e, p]) => mock.emit(e, p as EventPayload<typeof e>), [event, payload] as const);
}
