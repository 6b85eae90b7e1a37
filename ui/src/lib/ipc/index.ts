// The UI's one door to Rust. The commands, events and types come from `bindings.ts`, generated
// from the Rust signatures (`make bindings`); this module only turns a rejected call into an
// `IpcError` the components switch on. Only this folder imports @tauri-apps/api.
import { commands, events, type ErrorCode } from './bindings';

import type * as B from './bindings';

export type * from './bindings';
// What the UI receives is the Rust types' serialized shape; what it sends, their deserialized one.
export type Account = B.Account_Serialize;
export type Alert = B.Alert_Serialize;
export type Evidence = B.Evidence_Serialize;
export type Suggestions = B.Suggestions;
export type Macro = B.Macro_Serialize;
export type AppView = B.AppView_Serialize;
export type Comment = B.Comment_Serialize;
export type Incident = B.Incident_Serialize;
export type IncidentDetail = B.IncidentDetail_Serialize;
export type QueueStatus = B.QueueStatus_Serialize;
export type QueuePage = B.QueuePage_Serialize;
export type QueueQuery = B.QueueQuery_Deserialize;
export type QueueFilter = B.QueueFilter_Deserialize;
export type Overview = B.Overview;
export type Change = B.Change_Serialize;
export type ChangeFeed = B.ChangeFeed_Serialize;
export type ProfileView = B.ProfileView_Serialize;
export type TokenInfo = B.TokenInfo_Serialize;
export type Update = B.Update_Deserialize;
export type NewProfile = B.NewProfile_Deserialize;
export type NewCredential = B.NewCredential;
export type AboutInfo = B.AboutInfo;
export type Settings = B.Settings_Serialize;
export type SettingsView = B.SettingsView_Serialize;
export type Theme = B.Theme;
export type Rules = B.Rules_Serialize;
export type BulkEdit = B.BulkEdit_Deserialize;
export type BulkResult = B.BulkResult_Serialize;
export type Severity = Incident['severity'];
export type Status = Incident['status'];
export type Classification = Incident['classification'];

export class IpcError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function toIpcError(e: unknown): IpcError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const { code, message } = e as { code: ErrorCode; message: string };
    return new IpcError(code, String(message));
  }
  return new IpcError('internal', String(e));
}

/** The command, with its rejection turned into an `IpcError`. */
function guarded<A extends unknown[], R>(command: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await command(...args);
    } catch (e) {
      throw toIpcError(e);
    }
  };
}

export const getState = guarded(commands.getState);
export const connect = guarded(commands.connect);
export const switchProfile = guarded(commands.switchProfile);
export const signIn = guarded(commands.signIn);
export const cancelSignIn = guarded(commands.cancelSignIn);
export const useSessionOnly = guarded(commands.useSessionOnly);
export const adminConsentUrl = guarded(commands.adminConsentUrl);
export const signOut = guarded(commands.signOut);
export const removeProfile = guarded(commands.removeProfile);
export const queueStatus = guarded(commands.queueStatus);
export const queryQueue = guarded(commands.queryQueue);
export const queueOverview = guarded(commands.queueOverview);
export const changes = guarded(commands.changes);
export const markChangesSeen = guarded(commands.markChangesSeen);
export const incidentLink = guarded(commands.incidentLink);
export const updateIncidents = guarded(commands.updateIncidents);
export const cancelUpdateIncidents = guarded(commands.cancelUpdateIncidents);
export const queryIds = guarded(commands.queryIds);
export const syncIncidents = guarded(commands.syncIncidents);
export const getIncident = guarded(commands.getIncident);
export const updateIncident = guarded(commands.updateIncident);
export const tokenInfo = guarded(commands.tokenInfo);
export const exportIncidents = guarded(commands.exportIncidents);
export const incidentReport = guarded(commands.incidentReport);
export const saveReport = guarded(commands.saveReport);
export const triageSuggestions = guarded(commands.triageSuggestions);
export const applyMacro = guarded(commands.applyMacro);
export const openPortal = guarded(commands.openPortal);
export const testConnection = guarded(commands.testConnection);
export const addProfile = guarded(commands.addProfile);
export const chooseCertificate = guarded(commands.chooseCertificate);
export const updateProfile = guarded(commands.updateProfile);
export const getSettings = guarded(commands.getSettings);
export const saveSettings = guarded(commands.saveSettings);
export const setDefaultProfile = guarded(commands.setDefaultProfile);
export const about = guarded(commands.about);
export const diagnostics = guarded(commands.diagnostics);

/** The sign-in URL, announced when a sign-in starts, for the "copy sign-in link" fallback. */
export const onSignInUrl = (handler: (url: string) => void) => events.signInUrl.listen((e) => handler(e.payload.url));

/** The running count of incidents fetched during a sync. */
export const onSyncProgress = (handler: (fetched: number) => void) =>
  events.syncProgress.listen((e) => handler(e.payload.fetched));

/** A background sync of a profile finished. */
export const onBackgroundSynced = (handler: (e: B.BackgroundSynced) => void) => events.backgroundSynced.listen((e) => handler(e.payload));

/** The background sync could not reach a profile's tenant. */
export const onBackgroundOffline = (handler: (e: B.BackgroundOffline) => void) => events.backgroundOffline.listen((e) => handler(e.payload));

/** Open an incident (a notification was clicked, a link arrived); no incident: the change feed. */
export const onOpenIncident = (handler: (e: B.OpenIncident_Serialize) => void) => events.openIncident.listen((e) => handler(e.payload));

/** How far a change to several incidents has got. */
export const onBulkProgress = (handler: (p: B.BulkProgress) => void) => events.bulkProgress.listen((e) => handler(e.payload));

/** The background sync waits for the API's quota, about this many seconds. */
export const onBackgroundWaiting = (handler: (seconds: number) => void) => events.backgroundWaiting.listen((e) => handler(e.payload.seconds));
