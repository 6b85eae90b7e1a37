// The incident queue's settings — filters, sort, columns, saved filters — and how a cell shows
// an incident. Filtering, search and sort run in Rust over the store (`queryQueue`): the window
// asks for the rows it shows and never holds the whole list.
import type { Incident, QueueFilter, QueueQuery, SortKey } from './ipc';
import { classificationLabel, relativeTime, severityLabel, statusLabel } from './format';

export type { SortKey };

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
  /** Merged incidents (status `redirected`) are left out unless asked for. Absent in older saved filters. */
  showMerged?: boolean;
}

/** The statuses the filter menu offers; merged incidents have their own switch. */
export const ALL_STATUSES = ['active', 'inProgress', 'awaitingAction', 'resolved'];
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

/** The filter as the store's query takes it. */
export function queryFilter(f: Filter): QueueFilter {
  return {
    statuses: f.statuses,
    severities: f.severities,
    assignment: f.assignment,
    updatedWithinHours: RANGE_HOURS[f.range] || null,
    tag: f.tag,
    source: f.source,
    search: f.search,
    showMerged: !!f.showMerged,
  };
}

/** The query for rows `[offset, offset + limit)` of a view; `allProfiles`: every signed-in
 * profile's queue in one. */
export function viewQuery(f: Filter, s: Sort, me: string | null, offset = 0, limit = 0, allProfiles = false): QueueQuery {
  return { filter: queryFilter(f), sort: s, me, offset, limit, allProfiles };
}

export interface Sort {
  key: SortKey;
  desc: boolean;
}

export const DEFAULT_SORT: Sort = { key: 'lastUpdate', desc: true };

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
  { key: 'priority', label: 'Priority', sortable: true, width: 5 },
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
    case 'priority':
      return i.priorityScore == null ? '—' : String(i.priorityScore);
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
