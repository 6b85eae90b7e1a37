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
  | 'reauth_required'
  | 'keychain_unavailable'
  | 'api_error'
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

export interface Incident {
  id: string;
  displayName: string;
  severity: Severity;
  status: Status;
  assignedTo: string | null;
  classification: string | null;
  determination: string | null;
  created: string | null;
  lastUpdate: string | null;
  tags: string[];
  webUrl: string | null;
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
export const switchProfile = (name: string) => call<AppView>('switch_profile', { name });
export const adminConsentUrl = () => call<string>('admin_consent_url');
export const useSessionOnly = () => call<AppView>('use_session_only');
export const cancelSignIn = () => call<void>('cancel_sign_in');
export const signOut = () => call<AppView>('sign_out');
export const listIncidents = () => call<Incident[]>('list_incidents');

/** The sign-in URL, announced when a sign-in starts, for the "copy sign-in link" fallback. */
export function onSignInUrl(handler: (url: string) => void): Promise<UnlistenFn> {
  return listen<string>('sign-in-url', (event) => handler(event.payload));
}
