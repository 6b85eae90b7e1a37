// Compile-time checks of the mock's typing (`npm run ui:test-check`; Playwright never loads this
// file): each `@ts-expect-error` fails the check if the wrong mock under it stops being an error.
import type { Handlers } from './mock-ipc.ts';

export const wrong: Handlers[] = [
  // @ts-expect-error: signOut answers an AppView.
  { signOut: () => ({ foo: 1 }) },
  // @ts-expect-error: signOut takes `wipe: boolean`.
  { signOut: (wipe: string) => ({ ...mock.data.view, signedIn: wipe === 'yes', account: null }) },
  // @ts-expect-error: updateIncident takes (id: string, update, seenLastUpdate).
  { updateIncident: (id: number) => mock.state.incidents[id] },
  // @ts-expect-error: an Update has no `assignee` (it is `assignedTo`).
  { updateIncident: (_id, u) => ({ ...mock.state.incidents[0], assignedTo: u.assignee }) },
  // @ts-expect-error: an incident's status is a string, never null.
  { updateIncident: (_id, u) => ({ ...mock.state.incidents[0], status: u.status }) },
  // @ts-expect-error: no such command.
  { getIncidents: () => [] },
  // @ts-expect-error: getIncident answers an IncidentDetail, with `fromCache`.
  { getIncident: () => ({ incident: mock.state.incidents[0], alerts: [] }) },
  // @ts-expect-error: TokenInfo.expires is an RFC 3339 string, not seconds.
  { tokenInfo: () => ({ readable: true, audience: null, tenant: null, scopes: [], roles: [], expires: 1800000000, issuedToApp: null, warning: null }) },
  // @ts-expect-error: errors carry an ErrorCode.
  { connect: () => { throw mock.error('no_network', 'offline'); } },
  // @ts-expect-error: an AppView says whether a sign-in is stored.
  { getState: () => ({ profile: mock.data.view.profile, account: null, profiles: [], sessionOnly: false }) },
];

export const right: Handlers = {
  signOut: (wipe) => ({ ...mock.data.view, signedIn: !wipe, account: null }),
  connect: async () => {
    throw mock.error('offline', 'the tenant cannot be reached');
  },
  cancelSignIn: () => {},
};
