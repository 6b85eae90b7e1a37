import type { Classification, Severity, Status } from './ipc';

const STATUS_LABELS: Record<string, string> = {
  active: 'Active',
  inProgress: 'In progress',
  awaitingAction: 'Awaiting action',
  resolved: 'Resolved',
  redirected: 'Merged',
};

export function statusLabel(s: Status): string {
  return STATUS_LABELS[s] ?? s;
}

export function severityLabel(s: Severity): string {
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : 'Unknown';
}

const CLASSIFICATION_LABELS: Record<string, string> = {
  unknown: 'Not set',
  truePositive: 'True positive',
  falsePositive: 'False positive',
  informationalExpectedActivity: 'Informational, expected activity',
};

export function classificationLabel(c: Classification): string {
  return CLASSIFICATION_LABELS[c] ?? c;
}

/** Determinations that go with each classification (Graph's values). */
export const DETERMINATIONS: Record<string, string[]> = {
  truePositive: ['multiStagedAttack', 'maliciousUserActivity', 'compromisedAccount', 'malware', 'phishing', 'unwantedSoftware', 'other'],
  informationalExpectedActivity: ['securityTesting', 'lineOfBusinessApplication', 'confirmedActivity', 'other'],
  falsePositive: ['notMalicious', 'notEnoughDataToValidate', 'other'],
  unknown: ['unknown'],
};

/** "multiStagedAttack" → "Multi staged attack". */
export function words(s: string): string {
  const spaced = s.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

const RANK: Record<string, number> = { high: 4, medium: 3, low: 2, informational: 1 };
export const severityRank = (s: Severity): number => RANK[s] ?? 0;

/** "just now", "12 s ago", "3 min ago", else the time: for what happens every minute or so. */
export function ago(iso: string, at: number): string {
  const s = Math.max(0, Math.round((at - Date.parse(iso)) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return new Date(iso).toLocaleTimeString();
}

/** "5 min ago", "3 h ago", "2 d ago" relative to `now`. */
export function relativeTime(iso: string | null, now: Date): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const min = Math.max(0, Math.round((now.getTime() - t) / 60000));
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} d ago`;
}

export function dateTime(iso: string | null): string {
  if (!iso) return '—';
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toLocaleString();
}
