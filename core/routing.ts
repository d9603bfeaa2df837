/**
 * Routing: which target calendar(s) — rooms — a desired event goes to. Either a fixed target, or
 * a value read from the event (location, `rooms`, an X- property such as X-KALTURA-RESOURCE-IDS,
 * or a dot path into the event's JSON) looked up in a mapping table (case-insensitive, trimmed)
 * with an optional default. An event that reaches no calendar, or one of whose values is not in
 * the table, is reported in `unmapped` — never silently dropped.
 */
import type { CalendarEvent } from './event';
import type { DesiredEvent } from './plan';

export type RoutingField =
  | { kind: 'location' }
  | { kind: 'rooms' }
  /** An X- property by name (case-insensitive); its value is split on `separator` (default ","). */
  | { kind: 'xProp'; name: string; separator?: string }
  /** A dot path into the event JSON ("location", "rooms.0", "xProps.2.value"); arrays give several values. */
  | { kind: 'path'; path: string; separator?: string };

export interface RoutingConfig {
  /** Fixed target(s): every event goes there. When set, `by`/`map` are ignored. */
  target?: string | string[];
  by?: RoutingField;
  /** value → calendarId(s). Keys are matched case-insensitively after trimming. */
  map?: Record<string, string | string[]>;
  /** 'exact' (default) or 'contains': a map key found anywhere in the value ("Room 101, Building A" ∋ "room 101"). */
  match?: 'exact' | 'contains';
  /** Target(s) for events with no value or no matching value. */
  default?: string | string[];
}

export interface RoutingResult {
  routed: DesiredEvent[];
  unmapped: Array<{ event: CalendarEvent; reason: string }>;
}

export class RoutingConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RoutingConfigError';
  }
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((s) => s.trim()).filter(Boolean);
}

function fieldLabel(f: RoutingField): string {
  switch (f.kind) {
    case 'location': return 'location';
    case 'rooms': return 'rooms';
    case 'xProp': return f.name.toUpperCase();
    case 'path': return f.path;
  }
}

function readPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.split('.').filter(Boolean)) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur) && /^\d+$/.test(seg)) cur = cur[Number(seg)];
    else if (typeof cur === 'object') cur = (cur as Record<string, unknown>)[seg];
    else return undefined;
  }
  return cur;
}

function split(s: string, sep: string | undefined): string[] {
  return sep === undefined ? [s] : s.split(sep);
}

/** The routing values of an event for a field, trimmed, empty ones dropped. */
export function routingValues(e: CalendarEvent, f: RoutingField): string[] {
  let raw: string[] = [];
  switch (f.kind) {
    case 'location':
      raw = e.location ? [e.location] : [];
      break;
    case 'rooms':
      raw = e.rooms ?? [];
      break;
    case 'xProp': {
      const name = f.name.toUpperCase();
      raw = (e.xProps ?? []).filter((p) => p.name.toUpperCase() === name).flatMap((p) => split(p.value, f.separator ?? ','));
      break;
    }
    case 'path': {
      const v = readPath(e, f.path);
      const vals = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
      raw = vals.filter((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean').flatMap((x) => split(String(x), f.separator));
      break;
    }
  }
  return raw.map((s) => s.trim()).filter(Boolean);
}

function checkConfig(r: RoutingConfig): void {
  if (list(r.target).length) return;
  if (!r.by) throw new RoutingConfigError('routing needs either "target" (fixed calendar) or "by" (a field) with a "map"');
  if (r.by.kind === 'xProp' && !r.by.name) throw new RoutingConfigError('routing by xProp needs a property "name"');
  if (r.by.kind === 'path' && !r.by.path) throw new RoutingConfigError('routing by path needs a "path"');
  if (!r.map && !r.default) throw new RoutingConfigError(`routing by ${fieldLabel(r.by)} needs a "map" (value → calendar) or a "default"`);
}

/** Every calendar the routing can send events to (so a calendar whose events all went away is still listed and cleaned). */
export function routingTargets(r: RoutingConfig): string[] {
  const out = new Set<string>([...list(r.target), ...list(r.default)]);
  if (!list(r.target).length) for (const v of Object.values(r.map ?? {})) for (const c of list(v)) out.add(c);
  return [...out];
}

/** Routes each event to its calendar(s). Throws RoutingConfigError for an unusable config. */
export function routeEvents(events: CalendarEvent[], routing: RoutingConfig): RoutingResult {
  checkConfig(routing);
  const routed: DesiredEvent[] = [];
  const unmapped: RoutingResult['unmapped'] = [];
  const fixed = list(routing.target);
  if (fixed.length) {
    for (const event of events) for (const calendarId of fixed) routed.push({ calendarId, event });
    return { routed, unmapped };
  }
  const by = routing.by!;
  const table = new Map<string, string[]>();
  for (const [k, v] of Object.entries(routing.map ?? {})) {
    const key = k.trim().toLowerCase();
    table.set(key, [...new Set([...(table.get(key) ?? []), ...list(v)])]);
  }
  const fallback = list(routing.default);
  const contains = routing.match === 'contains';
  const label = fieldLabel(by);
  for (const event of events) {
    const values = routingValues(event, by);
    const targets = new Set<string>();
    const missing: string[] = [];
    for (const v of values) {
      const lv = v.toLowerCase();
      let hit = table.get(lv);
      if (!hit && contains) {
        const found = [...table.entries()].filter(([k]) => k && lv.includes(k)).flatMap(([, c]) => c);
        if (found.length) hit = found;
      }
      if (hit && hit.length) hit.forEach((c) => targets.add(c));
      else missing.push(v);
    }
    if (!values.length || (missing.length && !targets.size)) {
      if (fallback.length) {
        fallback.forEach((c) => targets.add(c));
      } else {
        unmapped.push({ event, reason: values.length ? `${label} ${missing.map((m) => `"${m}"`).join(', ')} not in the room map` : `no ${label} to route by` });
      }
    } else if (missing.length) {
      // Some values matched: the event goes there, and the rest is reported (a room it did not reach).
      unmapped.push({ event, reason: `${label} ${missing.map((m) => `"${m}"`).join(', ')} not in the room map (routed to the other value(s) only)` });
    }
    for (const calendarId of targets) routed.push({ calendarId, event });
  }
  return { routed, unmapped };
}
