// The UI's one door to Rust. Components call these typed functions; only this module imports
// @tauri-apps/api, which also makes mocked-IPC tests trivial.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

/** The stable error codes the core sends across IPC (`ErrorCode` in crates/core/src/error.rs). */
export type ErrorCode =
  | 'not_signed_in'
  | 'sign_in_cancelled'
  | 'sign_in_timeout'
  | 'auth_failed'
  | 'consent_required'
  | 'keychain_unavailable'
  | 'reauth_required'
  | 'api_error'
  | 'conflict'
  | 'no_profile'
  | 'config';

export class IpcError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface Account {
  name: string | null;
  username: string | null;
  tenantId: string | null;
  objectId: string | null;
}

export interface ProfileView {
  name: string;
  tenant: string;
  sandbox: boolean;
  api: 'graph' | 'defender';
  readOnly: boolean;
  application: boolean;
  /** For Defender XDR profiles: the date that API stops working. */
  retires: string | null;
}

export interface AppView {
  /** The current profile. */
  profile: ProfileView;
  account: Account | null;
  /** Every profile, for the switcher. */
  profiles: ProfileView[];
  /** No usable keychain: tokens are kept in memory for this run only. */
  sessionOnly: boolean;
}

export type Severity = 'unknown' | 'informational' | 'low' | 'medium' | 'high' | (string & {});
export type Status = 'active' | 'inProgress' | 'awaitingAction' | 'resolved' | 'redirected' | (string & {});
export type Classification = 'unknown' | 'truePositive' | 'falsePositive' | 'informationalExpectedActivity' | (string & {});

export interface Comment {
  text: string;
  author: string | null;
  created: string | null;
}

export interface Incident {
  id: string;
  displayName: string;
  severity: Severity;
  status: Status;
  assignedTo: string | null;
  classification: Classification;
  determination: string;
  created: string | null;
  lastUpdate: string | null;
  tags: string[];
  systemTags: string[];
  webUrl: string | null;
  redirectIncidentId: string | null;
  comments: Comment[];
  alertCount: number | null;
  serviceSources: string[];
  categories: string[];
}

export interface Evidence {
  kind: string;
  title: string;
  details: [string, string][];
}

export interface Alert {
  id: string;
  title: string;
  severity: Severity;
  status: Status;
  category: string | null;
  serviceSource: string | null;
  mitreTechniques: string[];
  created: string | null;
  webUrl: string | null;
  evidence: Evidence[];
}

export interface IncidentDetail {
  incident: Incident;
  alerts: Alert[];
}

export interface IncidentsView {
  incidents: Incident[];
  syncedAt: string | null;
}

/** A triage change; a field left out stays as it is. `assignedTo: null` unassigns. */
export interface Update {
  status?: Status;
  assignedTo?: string | null;
  classification?: Classification;
  determination?: string;
  tags?: string[];
  comment?: string;
}

/** A delegated profile from the first-run setup. */
export interface NewProfile {
  name: string;
  tenant: string;
  clientId: string;
  cloud: 'global' | 'usgov' | 'usgov-dod';
  api: 'graph' | 'defender';
  authority: string | null;
  apiBase: string | null;
  readOnly: boolean;
}

export interface TokenInfo {
  readable: boolean;
  audience: string | null;
  tenant: string | null;
  scopes: string[];
  roles: string[];
  expires: number | null;
  issuedToApp: string | null;
  warning: string | null;
}

function toIpcError(e: unknown): IpcError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const { code, message } = e as { code: ErrorCode; message: string };
    return new IpcError(code, String(message));
  }
  return new IpcError('config', String(e));
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toIpcError(e);
  }
}

export const getState = () => call<AppView>('get_state');
export const signIn = () => call<AppView>('sign_in');
export const cancelSignIn = () => call<void>('cancel_sign_in');
export const signOut = (wipe: boolean) => call<AppView>('sign_out', { wipe });
export const switchProfile = (name: string) => call<AppView>('switch_profile', { name });
export const adminConsentUrl = () => call<string>('admin_consent_url');
export const useSessionOnly = () => call<AppView>('use_session_only');
export const cachedIncidents = () => call<IncidentsView>('cached_incidents');
export const syncIncidents = () => call<IncidentsView>('sync_incidents');
export const getIncident = (id: string) => call<IncidentDetail>('get_incident', { id });
export const updateIncident = (id: string, update: Update, seenLastUpdate: string | null) =>
  call<Incident>('update_incident', { id, update, seenLastUpdate });
export const tokenInfo = () => call<TokenInfo>('token_info');
export const exportIncidents = (format: 'json' | 'csv', ids: string[]) =>
  call<string | null>('export_incidents', { format, ids });
export const testConnection = (profile: NewProfile) => call<string>('test_connection', { profile });
export const addProfile = (profile: NewProfile) => call<AppView>('add_profile', { profile });
export const openPortal = (url: string) => call<void>('open_portal', { url });

/** The sign-in URL, announced when a sign-in starts, for the "copy sign-in link" fallback. */
export function onSignInUrl(handler: (url: string) => void): Promise<UnlistenFn> {
  return listen<string>('sign-in-url', (event) => handler(event.payload));
}

/** The running count of incidents fetched during a sync. */
export function onSyncProgress(handler: (fetched: number) => void): Promise<UnlistenFn> {
  return listen<number>('sync-progress', (event) => handler(event.payload));
}
