// What the detail view derives from an incident: the triage change to send, and evidence grouped
// by kind. Plain functions, kept out of the component.
import type { Alert, Incident, Update } from './ipc';

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

export interface EvidenceItem {
  title: string;
  details: [string, string][];
}

/** Evidence of all alerts, grouped by kind (device, user, file, ...), each item once. */
export function evidenceByKind(alerts: Alert[]): [string, EvidenceItem[]][] {
  const groups = new Map<string, EvidenceItem[]>();
  for (const a of alerts) {
    for (const e of a.evidence) {
      const list = groups.get(e.kind) ?? [];
      if (!list.some((x) => x.title === e.title)) list.push({ title: e.title, details: e.details });
      groups.set(e.kind, list);
    }
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export function techniques(alerts: Alert[]): string[] {
  return [...new Set(alerts.flatMap((a) => a.mitreTechniques))].sort();
}
