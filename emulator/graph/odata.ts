/**
 * A small, strict reader for the OData query options Calendar Relay uses. Anything outside these
 * shapes is a 400 naming what was not understood, never silently ignored:
 * - $filter=singleValueExtendedProperties/Any(ep: ep/id eq '…' [and ep/value eq '…'])
 * - $expand=singleValueExtendedProperties[($filter=id eq '…' [or id eq '…']…)]
 * - $select=a,b,c   $top=N   $skip=N   $orderby=start/dateTime [asc|desc]
 */
import { GraphHttpError } from './errors';

export interface ExtPropFilter {
  id: string;
  value?: string;
}

export interface QueryOptions {
  select?: string[];
  top?: number;
  skip?: number;
  skiptoken?: string;
  deltatoken?: string;
  filter?: ExtPropFilter;
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

export function parseFilter(raw: string): ExtPropFilter {
  const m = ANY_RE.exec(raw.trim());
  if (!m) {
    throw bad(`Invalid filter clause: the emulator supports only "singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')", got "${raw}"`);
  }
  return m[3] === undefined ? { id: unquote(m[2]) } : { id: unquote(m[2]), value: unquote(m[3]) };
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
