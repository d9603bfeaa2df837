/**
 * A small, strict reader for the OData query options Calendar Relay uses. Anything outside these
 * shapes is a 400 naming what was not understood, never silently ignored:
 * - $filter: `and`/`or`/parentheses over singleValueExtendedProperties/Any(ep: ep/id eq '…'
 *   [and ep/value eq '…']), start/dateTime|end/dateTime ge|gt|le|lt|eq '<ISO>' (no offset = UTC;
 *   a series master compares its own first occurrence, as Graph's /events does) and
 *   type eq 'singleInstance'|'seriesMaster', recurrence/range/type eq|ne 'endDate'|'noEnd'|'numbered'
 *   and recurrence/range/endDate ge|gt|le|lt|eq '<YYYY-MM-DD>' (only series masters match these;
 *   Graph documents no such filter either way: the provider falls back when a service refuses it)
 * - $expand=singleValueExtendedProperties[($filter=id eq '…' [or id eq '…']…)]
 * - $select=a,b,c   $top=N   $skip=N   $orderby=start/dateTime [asc|desc]
 */
import { GraphHttpError } from './errors';

/** A parsed $filter: a tree of the clauses above. */
export type FilterExpr =
  | { kind: 'ext'; id: string; value?: string }
  | { kind: 'time'; field: 'start' | 'end'; op: 'ge' | 'gt' | 'le' | 'lt' | 'eq'; atMs: number }
  | { kind: 'type'; value: 'singleInstance' | 'seriesMaster' }
  | { kind: 'rangeType'; op: 'eq' | 'ne'; value: string }
  | { kind: 'rangeEnd'; op: 'ge' | 'gt' | 'le' | 'lt' | 'eq'; date: string }
  | { kind: 'and' | 'or'; parts: FilterExpr[] };

/** What a filter is tested against: one /events row. */
export interface FilterSubject {
  type: string;
  startMs: number;
  endMs: number;
  extendedProperties: Array<{ id: string; value: string }>;
  /** A series master's recurrence range (absent for everything else). */
  range?: { type?: string; endDate?: string };
}

export function matchesFilter(f: FilterExpr, e: FilterSubject): boolean {
  switch (f.kind) {
    case 'ext': return e.extendedProperties.some((p) => sameExtPropId(p.id, f.id) && (f.value === undefined || p.value === f.value));
    case 'type': return e.type === f.value;
    case 'rangeType': return !!e.range && (f.op === 'eq' ? e.range.type === f.value : e.range.type !== f.value);
    case 'rangeEnd': {
      const d = e.range?.endDate;
      if (!d || e.range?.type !== 'endDate') return false;
      return f.op === 'ge' ? d >= f.date : f.op === 'gt' ? d > f.date : f.op === 'le' ? d <= f.date : f.op === 'lt' ? d < f.date : d === f.date;
    }
    case 'and': return f.parts.every((x) => matchesFilter(x, e));
    case 'or': return f.parts.some((x) => matchesFilter(x, e));
    case 'time': {
      const t = f.field === 'start' ? e.startMs : e.endMs;
      switch (f.op) {
        case 'ge': return t >= f.atMs;
        case 'gt': return t > f.atMs;
        case 'le': return t <= f.atMs;
        case 'lt': return t < f.atMs;
        case 'eq': return t === f.atMs;
      }
    }
  }
}

export interface QueryOptions {
  select?: string[];
  top?: number;
  skip?: number;
  skiptoken?: string;
  deltatoken?: string;
  filter?: FilterExpr;
  /** undefined: not expanded; [] expand all; otherwise the ids asked for. */
  expandExtProps?: string[];
  orderByStart?: 'asc' | 'desc';
}

/** Outlook's largest page; bigger $top values are capped to it. */
export const MAX_TOP = 1000;

const bad = (message: string) => new GraphHttpError(400, 'BadRequest', message);

const STR = `'((?:[^']|'')*)'`;
const unquote = (s: string) => s.replace(/''/g, "'");

const ANY_RE = new RegExp(
  `^singleValueExtendedProperties/any\\(\\s*(\\w+)\\s*:\\s*\\1/id\\s+eq\\s+${STR}(?:\\s+and\\s+\\1/value\\s+eq\\s+${STR})?\\s*\\)$`, 'i');
const EXPAND_RE = /^singleValueExtendedProperties(?:\(\s*\$filter\s*=\s*(.*)\))?$/i;
const EXPAND_ID_RE = new RegExp(`^id\\s+eq\\s+${STR}$`, 'i');

const TIME_RE = new RegExp(`^(start|end)/datetime\\s+(ge|gt|le|lt|eq)\\s+${STR}`, 'i');
const TYPE_RE = new RegExp(`^type\\s+eq\\s+${STR}`, 'i');
const RANGE_TYPE_RE = new RegExp(`^recurrence/range/type\\s+(eq|ne)\\s+${STR}`, 'i');
const RANGE_END_RE = new RegExp(`^recurrence/range/enddate\\s+(ge|gt|le|lt|eq)\\s+${STR}`, 'i');
// The Any(...) clause anchored at the start only (ANY_RE also anchors its end).
const ANY_TERM_RE = new RegExp(ANY_RE.source.slice(0, -1), 'i');
const ISO_RE = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z)?$/;

/** Recursive descent over the clauses the header comment lists; anything else → 400. */
export function parseFilter(raw: string): FilterExpr {
  let rest = raw.trim();
  const fail = (): never => {
    throw bad(`Invalid filter clause: the emulator supports singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...'), start/dateTime or end/dateTime compared with '<ISO date-time>', type eq 'seriesMaster'|'singleInstance', joined by and/or with parentheses; got "${raw}" (stuck at "${rest.slice(0, 40)}")`);
  };
  const eat = (re: RegExp): RegExpExecArray | undefined => {
    const m = re.exec(rest);
    if (!m) return undefined;
    rest = rest.slice(m[0].length).trimStart();
    return m;
  };
  const term = (): FilterExpr => {
    if (eat(/^\(/)) {
      const inner = disjunction();
      if (!eat(/^\)/)) fail();
      return inner;
    }
    const any = eat(ANY_TERM_RE);
    if (any) return any[3] === undefined ? { kind: 'ext', id: unquote(any[2]) } : { kind: 'ext', id: unquote(any[2]), value: unquote(any[3]) };
    const time = eat(TIME_RE);
    if (time) {
      const iso = ISO_RE.exec(unquote(time[3]));
      if (!iso) throw bad(`Invalid filter clause: '${time[3]}' is not a date-time literal (yyyy-MM-ddTHH:mm:ss[Z])`);
      const atMs = Date.parse(`${iso[1]}T${iso[2].length === 5 ? iso[2] + ':00' : iso[2]}Z`);
      return { kind: 'time', field: time[1].toLowerCase() as 'start' | 'end', op: time[2].toLowerCase() as 'ge', atMs };
    }
    const rangeType = eat(RANGE_TYPE_RE);
    if (rangeType) {
      const v = unquote(rangeType[2]);
      if (!['endDate', 'noEnd', 'numbered'].includes(v)) throw bad(`Invalid filter clause: recurrence/range/type '${v}'`);
      return { kind: 'rangeType', op: rangeType[1].toLowerCase() as 'eq', value: v };
    }
    const rangeEnd = eat(RANGE_END_RE);
    if (rangeEnd) {
      const v = unquote(rangeEnd[2]);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw bad(`Invalid filter clause: '${v}' is not a date literal (yyyy-MM-dd)`);
      return { kind: 'rangeEnd', op: rangeEnd[1].toLowerCase() as 'ge', date: v };
    }
    const type = eat(TYPE_RE);
    if (type) {
      const v = unquote(type[1]);
      if (v !== 'singleInstance' && v !== 'seriesMaster') throw bad(`Invalid filter clause: type '${v}' (events lists only singleInstance and seriesMaster)`);
      return { kind: 'type', value: v };
    }
    return fail();
  };
  const conjunction = (): FilterExpr => {
    const parts = [term()];
    while (eat(/^and\s+/i)) parts.push(term());
    return parts.length === 1 ? parts[0] : { kind: 'and', parts };
  };
  const disjunction = (): FilterExpr => {
    const parts = [conjunction()];
    while (eat(/^or\s+/i)) parts.push(conjunction());
    return parts.length === 1 ? parts[0] : { kind: 'or', parts };
  };
  const expr = disjunction();
  if (rest.length) fail();
  return expr;
}

export function parseExpand(raw: string): string[] {
  const m = EXPAND_RE.exec(raw.trim());
  if (!m) throw bad(`Parsing OData Select and Expand failed: the emulator can only expand singleValueExtendedProperties, got "${raw}"`);
  if (m[1] === undefined) return [];
  const ids: string[] = [];
  for (const part of m[1].split(/\s+or\s+/i)) {
    const im = EXPAND_ID_RE.exec(part.trim());
    if (!im) throw bad(`Invalid filter clause in $expand: expected "id eq '...'" (joined with "or"), got "${part.trim()}"`);
    ids.push(unquote(im[1]));
  }
  return ids;
}

function parseCount(name: string, raw: string, min: number): number {
  if (!/^\d+$/.test(raw.trim())) throw bad(`Invalid value '${raw}' for query option ${name}: expected a non-negative integer`);
  const n = Number(raw);
  if (n < min) throw bad(`Invalid value '${raw}' for query option ${name}: must be at least ${min}`);
  return n;
}

/**
 * Reads the $-options of a request. `allowed` lists the options this endpoint understands;
 * `plain` lists its non-$ parameters (e.g. startDateTime); anything else → 400.
 */
export function parseQuery(q: URLSearchParams, allowed: string[], plain: string[] = []): QueryOptions {
  const out: QueryOptions = {};
  for (const [key, value] of q) {
    const k = key.toLowerCase();
    const name = k.startsWith('$') ? k : plain.find((p) => p.toLowerCase() === k) ? k : undefined;
    if (name === undefined) throw bad(`The query parameter '${key}' is not supported by the emulator on this endpoint.`);
    if (!name.startsWith('$')) continue;
    if (!allowed.includes(name)) throw bad(`Query option '${key}' is not supported by the emulator on this endpoint (supported: ${allowed.join(', ') || 'none'}).`);
    switch (name) {
      case '$select':
        out.select = value.split(',').map((s) => s.trim()).filter(Boolean);
        for (const s of out.select) if (!/^[A-Za-z@][\w.@]*$/.test(s)) throw bad(`Invalid $select item '${s}'`);
        break;
      case '$top': out.top = Math.min(parseCount('$top', value, 1), MAX_TOP); break;
      case '$skip': out.skip = parseCount('$skip', value, 0); break;
      case '$skiptoken': out.skiptoken = value; break;
      case '$deltatoken': out.deltatoken = value; break;
      case '$filter': out.filter = parseFilter(value); break;
      case '$expand': out.expandExtProps = parseExpand(value); break;
      case '$orderby': {
        const m = /^start\/dateTime(?:\s+(asc|desc))?$/i.exec(value.trim());
        if (!m) throw bad(`The emulator supports only $orderby=start/dateTime [asc|desc], got "${value}"`);
        out.orderByStart = (m[1]?.toLowerCase() as 'asc' | 'desc' | undefined) ?? 'asc';
        break;
      }
    }
  }
  return out;
}

/** The `Prefer` header's preferences: `outlook.timezone="…"`, `odata.maxpagesize=N`, … */
export function parsePrefer(header: string | undefined): Map<string, string> {
  const prefs = new Map<string, string>();
  if (!header) return prefs;
  const re = /\s*([\w.-]+)\s*(?:=\s*(?:"([^"]*)"|([^,\s]*)))?\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < header.length && (m = re.exec(header))) {
    prefs.set(m[1].toLowerCase(), m[2] ?? m[3] ?? '');
    if (m[0] === '') break;
  }
  return prefs;
}

/** ids of extended properties compare case-insensitively ("String {GUID} Name X"). */
export function sameExtPropId(a: string, b: string): boolean {
  return a.replace(/\s+/g, ' ').trim().toLowerCase() === b.replace(/\s+/g, ' ').trim().toLowerCase();
}
