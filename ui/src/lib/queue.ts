// The incident queue's logic — filters, search, sort, columns, saved filters — kept out of the
// components so it stays plain, testable code.
import type { Incident } from './ipc';
import { classificationLabel, relativeTime, severityLabel, severityRank, statusLabel } from './format';

export type Assignment = 'any' | 'mine' | 'unassigned';
export type TimeRange = 'any' | '24h' | '3d' | '7d' | '30d';

export interface Filter {
  statuses: string[];
  /** Empty means any. */
  severities: string[];
  assignment: Assignment;
  range: TimeRange;
  tag: string;
  source: string;
  search: string;
}

export const ALL_STATUSES = ['active', 'inProgress', 'awaitingAction', 'resolved', 'redirected'];
export const ALL_SEVERITIES = ['high', 'medium', 'low', 'informational'];

/** The portal's default view: active and in progress, informational hidden. */
export const DEFAULT_FILTER: Filter = {
  statuses: ['active', 'inProgress'],
  severities: ['high', 'medium', 'low'],
  assignment: 'any',
  range: 'any',
  tag: '',
  source: '',
  search: '',
};

export interface SavedFilter {
  name: string;
  filter: Filter;
  builtIn?: boolean;
}

export const PRESETS: SavedFilter[] = [
  { name: 'Active and in progress', filter: DEFAULT_FILTER, builtIn: true },
  { name: 'Assigned to me', filter: { ...DEFAULT_FILTER, severities: [], assignment: 'mine' }, builtIn: true },
  { name: 'Unassigned high', filter: { ...DEFAULT_FILTER, severities: ['high'], assignment: 'unassigned' }, builtIn: true },
  { name: 'All incidents', filter: { ...DEFAULT_FILTER, statuses: [], severities: [] }, builtIn: true },
];

const RANGE_HOURS: Record<TimeRange, number> = { any: 0, '24h': 24, '3d': 72, '7d': 168, '30d': 720 };

/** The lowercased text the free-text search looks in, built once per incident list. */
export function searchText(i: Incident): string {
  return `${i.id}\n${i.displayName}\n${i.assignedTo ?? ''}\n${i.tags.join('\n')}`.toLowerCase();
}

export function matches(i: Incident, f: Filter, me: string | null, now: number, hay?: string): boolean {
  if (f.statuses.length && !f.statuses.includes(i.status)) return false;
  if (f.severities.length && !f.severities.includes(i.severity)) return false;
  if (f.assignment === 'unassigned' && i.assignedTo) return false;
  if (f.assignment === 'mine' && (!me || (i.assignedTo ?? '').toLowerCase() !== me.toLowerCase())) return false;
  if (f.range !== 'any') {
    const t = Date.parse(i.lastUpdate ?? '');
    if (Number.isNaN(t) || now - t > RANGE_HOURS[f.range] * 3600_000) return false;
  }
  if (f.tag && !i.tags.some((t) => t.toLowerCase() === f.tag.toLowerCase())) return false;
  if (f.source && !i.serviceSources.includes(f.source)) return false;
  const q = f.search.trim().toLowerCase();
  if (q) {
    if (!(hay ?? searchText(i)).includes(q)) return false;
  }
  return true;
}

export type SortKey = 'severity' | 'id' | 'displayName' | 'status' | 'assignedTo' | 'lastUpdate' | 'created' | 'alertCount';

export interface Sort {
  key: SortKey;
  desc: boolean;
}

export const DEFAULT_SORT: Sort = { key: 'lastUpdate', desc: true };

function sortValue(i: Incident, key: SortKey): string | number {
  switch (key) {
    case 'severity':
      return severityRank(i.severity);
    case 'id':
      return Number(i.id) || 0;
    case 'alertCount':
      return i.alertCount ?? -1;
    case 'assignedTo':
      return (i.assignedTo ?? '').toLowerCase();
    case 'displayName':
      return i.displayName.toLowerCase();
    default:
      return i[key] ?? '';
  }
}

export function sorted(items: Incident[], s: Sort): Incident[] {
  const dir = s.desc ? -1 : 1;
  return [...items].sort((a, b) => {
    const x = sortValue(a, s.key);
    const y = sortValue(b, s.key);
    if (x < y) return -dir;
    if (x > y) return dir;
    return (b.lastUpdate ?? '').localeCompare(a.lastUpdate ?? '');
  });
}

export interface Column {
  key: SortKey | 'classification' | 'tags' | 'serviceSources' | 'categories';
  label: string;
  sortable: boolean;
  /** Width in rem. */
  width: number;
}

export const COLUMNS: Column[] = [
  { key: 'severity', label: 'Severity', sortable: true, width: 8.5 },
  { key: 'id', label: 'ID', sortable: true, width: 5.5 },
  { key: 'displayName', label: 'Name', sortable: true, width: 24 },
  { key: 'status', label: 'Status', sortable: true, width: 7.5 },
  { key: 'assignedTo', label: 'Assigned to', sortable: true, width: 14 },
  { key: 'classification', label: 'Classification', sortable: false, width: 9 },
  { key: 'tags', label: 'Tags', sortable: false, width: 9 },
  { key: 'serviceSources', label: 'Service sources', sortable: false, width: 12 },
  { key: 'categories', label: 'Categories', sortable: false, width: 10 },
  { key: 'alertCount', label: 'Alerts', sortable: true, width: 4.5 },
  { key: 'created', label: 'Created', sortable: true, width: 7 },
  { key: 'lastUpdate', label: 'Last update', sortable: true, width: 7 },
];

export const DEFAULT_COLUMNS = ['severity', 'id', 'displayName', 'status', 'assignedTo', 'classification', 'tags', 'lastUpdate'];

/** Settings kept between runs: not secret, so plain local storage. */
export function load<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(`incident-desk:${key}`);
    return raw ? (JSON.parse(raw) as T) : fallback;
  } catch {
    return fallback;
  }
}

export function save(key: string, value: unknown): void {
  try {
    localStorage.setItem(`incident-desk:${key}`, JSON.stringify(value));
  } catch {
    // Storage full or unavailable: settings simply do not persist.
  }
}

/** The rows to render for a virtualized list: [first, last) with some overscan. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, total: number, overscan = 8): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return [first, last];
}

/** What a queue cell shows for a column. */
export function cellText(i: Incident, key: string, now: Date): string {
  switch (key) {
    case 'severity':
      return severityLabel(i.severity);
    case 'status':
      return statusLabel(i.status);
    case 'assignedTo':
      return i.assignedTo ?? 'Unassigned';
    case 'classification':
      return classificationLabel(i.classification);
    case 'tags':
      return i.tags.join(', ');
    case 'serviceSources':
      return i.serviceSources.join(', ');
    case 'categories':
      return i.categories.join(', ');
    case 'alertCount':
      return i.alertCount == null ? '—' : String(i.alertCount);
    case 'created':
      return relativeTime(i.created, now);
    case 'lastUpdate':
      return relativeTime(i.lastUpdate, now);
    case 'id':
      return i.id;
    default:
      return i.displayName;
  }
}
