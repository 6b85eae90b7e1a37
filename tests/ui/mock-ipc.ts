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
import type { Alert, AppView, Change, Incident, Overview, QueuePage, QueueQuery, QueueStatus, SettingsView } from '../../ui/src/lib/ipc';

export type { ErrorCode, IpcError };
// The shapes the UI receives, as the UI names them.
export type { Account, Alert, AppView, Change, Evidence, Incident, IncidentDetail, ProfileView, SettingsView, TokenInfo } from '../../ui/src/lib/ipc';

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
  /** What the local store holds at start (none by default), and when it was last synced. */
  stored?: Incident[];
  syncedAt?: string | null;
  /** The change feed the store holds at start. */
  changes?: Change[];
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
  /** The local store: starts as `data.stored`, filled by `mock.sync`, written by triage. */
  stored: Incident[];
  syncedAt: string | null;
  /** The store's change feed, newest first: starts as `data.changes`. */
  changes: Change[];
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
  /** The store takes the tenant's incidents, as a sync does: what syncIncidents answers. */
  sync(at: string): QueueStatus;
  /** A written incident, in the tenant and the store, as the core keeps it. */
  write(i: Incident): void;
  /** A window of the store for a query, as the Rust queue index answers it (a stand-in: the
   * real filtering and sorting are tested in Rust, and through the real window). */
  query(q: QueueQuery): QueuePage;
  overview(): Overview;
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

  const state: MockState = {
    calls: [],
    incidents: json(data.incidents),
    stored: json(data.stored ?? []),
    syncedAt: data.syncedAt ?? null,
    changes: json(data.changes ?? []),
    handlerErrors: [],
  };
  const RANK: Record<string, number> = { high: 4, medium: 3, low: 2, informational: 1 };
  /** The stored incidents the queue counts: merged ones are left out. */
  const shown = () => state.stored.filter((i) => i.status !== 'redirected');
  const m: PageMock = {
    data,
    state,
    error: (code, message) => ({ code, message }),
    sync(at) {
      state.stored = json(state.incidents);
      state.syncedAt = at;
      return { total: state.stored.length, syncedAt: at, notice: null };
    },
    write(i) {
      const put = (list: Incident[]) => (list.some((x) => x.id === i.id) ? list.map((x) => (x.id === i.id ? i : x)) : [...list, i]);
      state.incidents = put(state.incidents);
      state.stored = put(state.stored);
    },
    query(q) {
      const f = q.filter ?? {};
      const me = (q.me ?? '').toLowerCase();
      const words = (f.search ?? '').toLowerCase().split(/\s+/).filter(Boolean);
      const since = f.updatedWithinHours ? Date.now() - f.updatedWithinHours * 3600_000 : null;
      const hit = (i: Incident) =>
        // As the core: merged incidents (`redirected`) only when asked for, beside any others.
        (i.status === 'redirected'
          ? !!f.showMerged || !!f.statuses?.includes('redirected')
          : !f.statuses?.length || f.statuses.includes(i.status)) &&
        (!f.severities?.length || f.severities.includes(i.severity)) &&
        (f.assignment !== 'unassigned' || !i.assignedTo) &&
        (f.assignment !== 'mine' || (!!me && (i.assignedTo ?? '').toLowerCase() === me)) &&
        (since === null || Date.parse(i.lastUpdate ?? '') >= since) &&
        (!f.tag || i.tags.some((t) => t.toLowerCase() === f.tag?.toLowerCase())) &&
        (!f.source || i.serviceSources.includes(f.source)) &&
        words.every((w) => `${i.id}\n${i.displayName}\n${i.assignedTo ?? ''}\n${i.tags.join('\n')}`.toLowerCase().includes(w));
      const key = q.sort?.key ?? 'lastUpdate';
      const value = (i: Incident): string | number =>
        key === 'severity' ? (RANK[i.severity] ?? 0) : key === 'id' ? Number(i.id) || 0 : key === 'alertCount' ? (i.alertCount ?? -1) : key === 'priority' ? (i.priorityScore ?? -1)
          : key === 'displayName' || key === 'assignedTo' ? (i[key] ?? '').toLowerCase() : (i[key] ?? '');
      const dir = q.sort?.desc ?? true ? -1 : 1;
      const rows = state.stored.filter(hit).sort((a, b) => {
        const x = value(a);
        const y = value(b);
        if (x !== y) return x < y ? -dir : dir;
        return (b.lastUpdate ?? '').localeCompare(a.lastUpdate ?? '');
      });
      const offset = q.offset ?? 0;
      return {
        total: shown().length,
        matched: rows.length,
        offset,
        rows: rows.slice(offset, offset + Math.min(q.limit ?? 0, 500)),
        tags: [...new Set(state.stored.flatMap((i) => i.tags))].sort(),
        sources: [...new Set(state.stored.flatMap((i) => i.serviceSources))].sort(),
        generation: state.calls.length,
        profiles: [],
      };
    },
    overview() {
      const count = (keys: string[], of: (i: Incident) => string) => keys.map((key) => ({ key, n: shown().filter((i) => of(i) === key).length }));
      const today = new Date();
      today.setUTCHours(0, 0, 0, 0);
      const days = Array.from({ length: 30 }, (_, k) => new Date(today.getTime() - (29 - k) * 86400_000).toISOString().slice(0, 10));
      return {
        total: shown().length,
        bySeverity: count(['high', 'medium', 'low', 'informational'], (i) => i.severity),
        byStatus: count(['active', 'inProgress', 'resolved'], (i) => i.status),
        perDay: count(days, (i) => (i.created ?? '').slice(0, 10)),
      };
    },
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
