// What the detail view derives from an incident: the triage change to send, and evidence grouped
// by kind. Plain functions, kept out of the component.
import type { Alert, Evidence, Incident, IncidentDetail, Update } from './ipc';

export interface TriageForm {
  status: string;
  assignee: string;
  classification: string;
  determination: string;
  tags: string[];
  comment: string;
}

export function formOf(i: Incident): TriageForm {
  return {
    status: i.status,
    assignee: i.assignedTo ?? '',
    classification: i.classification,
    determination: i.determination,
    tags: [...i.tags],
    comment: '',
  };
}

/** Only what the analyst changed: a field left out stays as it is on the server. */
export function changes(i: Incident, f: TriageForm): Update {
  const u: Update = {};
  if (f.status !== i.status) u.status = f.status;
  if ((f.assignee.trim() || null) !== (i.assignedTo ?? null)) u.assignedTo = f.assignee.trim() || null;
  if (f.classification !== i.classification) u.classification = f.classification;
  if (f.determination !== i.determination) u.determination = f.determination;
  if (JSON.stringify(f.tags) !== JSON.stringify(i.tags)) u.tags = f.tags;
  if (f.comment.trim()) u.comment = f.comment.trim();
  return u;
}

/**
 * Evidence of all alerts, grouped by kind (device, user, file, ...), each entity once: items are
 * the same when their keys are (the API's IDs, hashes, addresses), never because their titles are.
 */
export function evidenceByKind(alerts: Alert[]): [string, Evidence[]][] {
  const groups = new Map<string, Evidence[]>();
  const seen = new Set<string>();
  for (const a of alerts) {
    for (const e of a.evidence) {
      if (seen.has(e.key)) continue;
      seen.add(e.key);
      const list = groups.get(e.kind) ?? [];
      list.push(e);
      groups.set(e.kind, list);
    }
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export interface TimelineEntry {
  at: string;
  kind: 'alert' | 'comment' | 'change';
  /** Attacker-influenced text: rendered as text. */
  text: string;
}

/** The incident's story, newest first: its alerts, its comments, and the changes the app saw. */
export function timeline(d: IncidentDetail): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const a of d.alerts) if (a.created) out.push({ at: a.created, kind: 'alert', text: `Alert: ${a.title}` });
  for (const c of d.incident.comments) if (c.created) out.push({ at: c.created, kind: 'comment', text: `${c.author ?? 'Someone'} commented: ${c.text}` });
  for (const h of d.history) out.push({ at: h.at, kind: 'change', text: h.detail });
  return out.sort((x, y) => Date.parse(y.at) - Date.parse(x.at));
}

export function techniques(alerts: Alert[]): string[] {
  return [...new Set(alerts.flatMap((a) => a.mitreTechniques))].sort();
}
