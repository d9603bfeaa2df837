/**
 * TZID → IANA zone. Real feeds name zones in many ways; in order we try:
 *  1. the name itself as an IANA zone or alias ("Europe/Berlin", "US/Central", "europe/berlin");
 *  2. vendor prefixes: "/mozilla.org/20070129_1/Europe/Berlin",
 *     "/softwarestudio.org/Olson_20011030_5/America/New_York", "/freeassociation.sourceforge.net/Tzfile/…";
 *  3. Windows ids ("W. Europe Standard Time") and Windows display names
 *     ("(UTC+01:00) Amsterdam, Berlin, …", older "(GMT+01:00) …") via CLDR windowsZones;
 *  4. a city named in the TZID that is an IANA zone's city ("Pacific Time (US & Canada), Tijuana");
 *  5. with an embedded VTIMEZONE: the IANA zone whose offsets match the definition over the years
 *     the events use (ical.js evaluates the VTIMEZONE, core/time the IANA side);
 *  6. without a usable VTIMEZONE, "UTC+01" / "(GMT-05:00)" style fixed offsets → Etc/GMT∓N.
 * What still fails is reported: with a usable VTIMEZONE the caller converts times to UTC through
 * it; without one the times are read as UTC. Either way the event carries a warning.
 */
import ICAL from 'ical.js';
import { canonicalTimeZone, utcFields, wallToUtc, zoneOffsetMs } from '../time';
import { WINDOWS_ZONES } from './windows-zones';

/** An embedded VTIMEZONE, as collected by the parser. */
export interface VTimezoneInfo {
  tzid: string;
  /** The VTIMEZONE as jCal (`['vtimezone', props, subcomponents]`). */
  jcal: unknown[];
  /** X-LIC-LOCATION, when present: producers put the IANA name there. */
  location?: string;
}

export interface TimeZoneResolution {
  timeZone?: string;
  warning?: string;
}

export interface ResolveTimeZoneOptions {
  /** Years the events in this zone use; offsets are compared over these (default: 2000–2030). */
  years?: readonly number[];
  /** Wall times (ms, as if UTC) the events use in this zone; enables the weaker per-instant match. */
  walls?: readonly number[];
}

const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Name-based resolution (pure function of the string, memoised).

const ianaCache = new Map<string, string | null>();

/** "Europe/Berlin"-like strings only: Intl also accepts offsets like "+01:00", which are not zones. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

function asIana(name: string): string | undefined {
  if (!ZONE_NAME.test(name)) return undefined;
  return canonicalTimeZone(name);
}

/**
 * Windows ids Microsoft has retired, so today's CLDR table no longer lists them, but old
 * Outlook/Exchange exports still carry (Windows registry history; each zone's current IANA
 * equivalent). An id in the CLDR table always wins.
 */
const RETIRED_WINDOWS_IDS: ReadonlyArray<[string, string]> = [
  ['Mid-Atlantic Standard Time', 'Atlantic/South_Georgia'],
  ['Kamchatka Standard Time', 'Asia/Kamchatka'],
  ['Armenian Standard Time', 'Asia/Yerevan'],
  ['Mexico Standard Time', 'America/Mexico_City'],
  ['Mexico Standard Time 2', 'America/Chihuahua'],
  ['Russia TZ 11 Standard Time', 'Asia/Kamchatka'],
];

const windowsById = new Map<string, string>();
const windowsByDisplay = new Map<string, string>();
for (const [id, iana] of RETIRED_WINDOWS_IDS) windowsById.set(id.toLowerCase(), iana);
for (const [id, display, iana] of WINDOWS_ZONES) {
  windowsById.set(id.toLowerCase(), iana);
  windowsByDisplay.set(normaliseDisplayName(display), iana);
}

/** The CLDR golden IANA zone for a Windows time-zone id ("W. Europe Standard Time" → "Europe/Berlin"). */
export function windowsToIana(name: string): string | undefined {
  const hit = windowsById.get(name.trim().replace(/\s+/g, ' ').toLowerCase());
  return hit ? canonicalTimeZone(hit) ?? hit : undefined;
}

function stripDiacritics(s: string): string {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
}

/** "(GMT +01:00) Amsterdam,Berlin" → "(utc+01:00) amsterdam, berlin": one spelling for lookups. */
function normaliseDisplayName(s: string): string {
  let t = stripDiacritics(s).toLowerCase().replace(/\s+/g, ' ').trim();
  t = t.replace(/^\((?:utc|gmt)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\)\s*/, (_m, sign: string, h: string, m?: string) => `(utc${sign}${h.padStart(2, '0')}:${m ?? '00'}) `);
  t = t.replace(/^\((?:utc|gmt)\)\s*/, '(utc) ');
  return t.replace(/\s*,\s*/g, ', ');
}

/** Offset in minutes announced by a "(UTC+05:30) …" prefix, if any. */
function displayOffsetMinutes(s: string): number | undefined {
  const m = /^\(\s*(?:UTC|GMT)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\s*\)/i.exec(s.trim());
  if (!m) return /^\(\s*(?:UTC|GMT)\s*\)/i.test(s.trim()) ? 0 : undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

let cityIndex: Map<string, string> | undefined;
/** "tijuana" → "America/Tijuana" for every zone the runtime knows (last path segment). */
function citiesToZones(): Map<string, string> {
  if (cityIndex) return cityIndex;
  cityIndex = new Map();
  for (const zone of allZones()) {
    const city = zone.slice(zone.lastIndexOf('/') + 1).replace(/_/g, ' ').toLowerCase();
    if (!cityIndex.has(city)) cityIndex.set(city, zone);
  }
  // Common spellings that differ from the IANA city.
  for (const [alias, zone] of [['kyiv', 'Europe/Kiev'], ['kolkata', 'Asia/Calcutta'], ['new delhi', 'Asia/Calcutta'], ['washington', 'America/New_York'], ['beijing', 'Asia/Shanghai'], ['brasilia', 'America/Sao_Paulo'], ['rome', 'Europe/Rome']] as const) {
    if (!cityIndex.has(alias)) cityIndex.set(alias, zone);
  }
  return cityIndex;
}

let zonesCache: string[] | undefined;
function allZones(): string[] {
  if (!zonesCache) {
    const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
    zonesCache = intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : [];
  }
  return zonesCache;
}

/** Cities named in a display-style TZID, e.g. "(UTC+01:00) Amsterdam, Berlin" → the first city that is an IANA zone. */
function cityZone(tzid: string): string | undefined {
  const offset = displayOffsetMinutes(tzid);
  const body = stripDiacritics(tzid.replace(/^\([^)]*\)\s*/, '')).toLowerCase();
  const cities = citiesToZones();
  for (const part of body.split(/[,/;]|\s+-\s+|\(|\)/)) {
    const city = part.trim().replace(/\.$/, '');
    if (!city) continue;
    const zone = cities.get(city);
    if (!zone) continue;
    const iana = canonicalTimeZone(zone);
    if (!iana) continue;
    if (offset === undefined || standardOffsetMinutes(iana) === offset) return iana;
  }
  return undefined;
}

/** The zone's smaller offset of January/July 2020 (its standard time), in minutes. */
function standardOffsetMinutes(tz: string): number {
  const jan = zoneOffsetMs(tz, Date.UTC(2020, 0, 15, 12));
  const jul = zoneOffsetMs(tz, Date.UTC(2020, 6, 15, 12));
  return Math.min(jan, jul) / 60_000;
}

/** "UTC+01", "GMT-05:00", "(GMT +01:00)", "UTC" → Etc/GMT∓N (whole hours only: Etc zones have no others). */
export function fixedOffsetZone(tzid: string): string | undefined {
  const bare = tzid.trim().replace(/^\((.*)\)$/, '$1').trim();
  const m = /^(?:UTC|GMT)\s*(?:([+-])\s*(\d{1,2})(?::?(00))?)?$/i.exec(bare);
  if (!m) return undefined;
  if (!m[1]) return 'UTC';
  const h = Number(m[2]);
  if (h === 0) return 'UTC';
  if (h > 14) return undefined;
  // POSIX-style Etc names invert the sign: UTC+01 is Etc/GMT-1.
  return canonicalTimeZone(`Etc/GMT${m[1] === '+' ? '-' : '+'}${h}`);
}

/** Name-only resolution of a TZID; undefined when the name alone does not identify a zone. */
export function ianaFromName(tzid: string): string | undefined {
  const cached = ianaCache.get(tzid);
  if (cached !== undefined) return cached ?? undefined;
  const result = resolveName(tzid);
  ianaCache.set(tzid, result ?? null);
  return result;
}

function resolveName(raw: string): string | undefined {
  const tzid = raw.trim().replace(/^"(.*)"$/, '$1').trim();
  if (!tzid) return undefined;
  const direct = asIana(tzid);
  if (direct) return direct;
  // Vendor prefixes: try every path suffix, longest first ("20070129_1/Europe/Berlin", "Europe/Berlin").
  if (tzid.includes('/')) {
    const parts = tzid.split('/').filter((p) => p.length > 0);
    for (let i = 1; i < parts.length; i++) {
      const candidate = asIana(parts.slice(i).join('/'));
      if (candidate && candidate.includes('/')) return candidate;
    }
  }
  // libical's test zones and some servers write "US-Eastern" for "US/Eastern".
  if (!tzid.includes('/') && tzid.includes('-')) {
    const slashed = asIana(tzid.replace('-', '/'));
    if (slashed && slashed.includes('/')) return slashed;
  }
  const windows = windowsToIana(tzid);
  if (windows) return windows;
  const display = windowsByDisplay.get(normaliseDisplayName(tzid));
  if (display) return canonicalTimeZone(display);
  // A display name with a different city list or extra text: a known display body as prefix.
  const norm = normaliseDisplayName(tzid);
  const body = norm.replace(/^\([^)]*\)\s*/, '');
  if (body.length >= 4) {
    for (const [key, iana] of windowsByDisplay) {
      const keyBody = key.replace(/^\([^)]*\)\s*/, '');
      if (body.startsWith(keyBody) && (norm === body || norm.slice(0, 11) === key.slice(0, 11))) return canonicalTimeZone(iana);
    }
  }
  return cityZone(tzid);
}

// ---------------------------------------------------------------------------------------------
// VTIMEZONE definitions: evaluation with ical.js and matching against IANA zones.

/** A VTIMEZONE that ical.js can evaluate; undefined when the definition is unusable. */
export function buildVTimezone(info: VTimezoneInfo): ICAL.Timezone | undefined {
  if (!isSafeDefinition(info.jcal)) return undefined;
  try {
    const tz = new ICAL.Timezone(new ICAL.Component(info.jcal as never));
    // Evaluate once so a broken definition fails here, not in the middle of an event.
    tz.utcOffset(new ICAL.Time({ year: 2000, month: 1, day: 1, hour: 12, minute: 0, second: 0, isDate: false }, undefined as never));
    return tz;
  } catch {
    return undefined;
  }
}

/**
 * Guards ical.js against definitions it would loop on or choke on: every observance needs
 * DTSTART and TZOFFSETTO, and rules must be yearly (ical.js's iterator can hang on other rules).
 */
function isSafeDefinition(jcal: unknown[]): boolean {
  const subs = jcal[2] as unknown[][] | undefined;
  if (!Array.isArray(subs) || subs.length === 0) return false;
  let observances = 0;
  for (const sub of subs) {
    const kind = String(sub[0]);
    if (kind !== 'standard' && kind !== 'daylight') continue;
    observances++;
    const props = sub[1] as unknown[][];
    let hasStart = false;
    let hasTo = false;
    for (const p of props) {
      if (p[0] === 'dtstart') hasStart = typeof p[3] === 'string' && /^\d{4}-\d{2}-\d{2}/.test(p[3]);
      if (p[0] === 'tzoffsetto') hasTo = typeof p[3] === 'string' && /^[+-]\d{2}:\d{2}/.test(p[3]);
      if (p[0] === 'rrule') {
        const rule = p[3] as { freq?: string } | string;
        if (typeof rule !== 'object' || rule.freq !== 'YEARLY') return false;
      }
    }
    if (!hasStart || !hasTo) return false;
  }
  return observances > 0;
}

/** Offset (ms) the VTIMEZONE gives the wall time `wallMs`. */
function vtzOffsetAtWall(tz: ICAL.Timezone, wallMs: number): number {
  const d = new Date(wallMs);
  const t = new ICAL.Time({
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), isDate: false,
  }, undefined as never);
  return tz.utcOffset(t) * 1000;
}

/** UTC instant of a wall time read in a VTIMEZONE definition. */
export function vtimezoneWallToUtc(tz: ICAL.Timezone, wallMs: number): number {
  return wallMs - vtzOffsetAtWall(tz, wallMs);
}

const goldenZones = WINDOWS_ZONES.map((r) => r[2]);
const etcZones: string[] = [];
for (let h = -14; h <= 12; h++) if (h !== 0) etcZones.push(`Etc/GMT${h > 0 ? '+' : ''}${h}`);

const matchCache = new Map<string, ZoneMatch | null>();

export interface ZoneMatch {
  timeZone: string;
  /** 'rules': offsets agree all year round; 'instants': only at the times the events use. */
  by: 'rules' | 'instants';
}

/** At most this many distinct years are compared (the latest ones the events use). */
const MAX_YEARS = 6;

/**
 * The IANA zone whose offsets equal the VTIMEZONE's in `years`: sampled at noon (never inside
 * a transition) weekly, plus the days around each of the definition's own transitions, so a
 * DST rule that differs by a few days (Israel vs EU) is told apart. When no zone agrees all year
 * (stale rules in an old Outlook definition), a zone that agrees at every wall time in `walls`
 * (the times the events actually use) is accepted as a weaker match.
 * Preference among matches: X-LIC-LOCATION, a city named in the TZID, Etc/GMT∓N for a constant
 * whole-hour offset, the CLDR golden zones, then the runtime's list.
 */
export function matchVTimezone(info: VTimezoneInfo, tz: ICAL.Timezone, years: readonly number[], walls: readonly number[] = []): ZoneMatch | undefined {
  const useYears = [...new Set(years.filter((y) => y >= 1900 && y <= 2100))].sort((a, b) => a - b).slice(-MAX_YEARS);
  if (useYears.length === 0) useYears.push(2020);
  const useWalls = walls.slice(0, 500);
  // Keyed without the walls: a full-year match does not depend on them, and large multi-calendar
  // files repeat the same VTIMEZONE hundreds of times.
  const key = `${JSON.stringify(info.jcal)}\u001f${useYears.join(',')}\u001f${info.tzid}\u001f${info.location ?? ''}`;
  const hit = matchCache.get(key);
  if (hit) return hit;
  if (hit === null && useWalls.length === 0) return undefined;

  const samples: number[] = [];
  const expected: number[] = [];
  const seen = new Set<number>();
  const addSample = (wall: number, off?: number) => {
    if (seen.has(wall)) return;
    seen.add(wall);
    samples.push(wall);
    expected.push(off ?? vtzOffsetAtWall(tz, wall));
  };
  for (const y of useYears) {
    let prev: number | undefined;
    for (let wall = utcFields(y, 1, 1, 12); wall < utcFields(y + 1, 1, 1, 12); wall += DAY) {
      const off = vtzOffsetAtWall(tz, wall);
      if (prev !== undefined && off !== prev) {
        addSample(wall - DAY, prev);
        addSample(wall, off);
      }
      prev = off;
    }
    for (let wall = utcFields(y, 1, 4, 12); wall < utcFields(y + 1, 1, 1, 12); wall += 7 * DAY) addSample(wall);
  }
  const constant = expected.every((o) => o === expected[0]);
  const wallOffsets = useWalls.map((w) => vtzOffsetAtWall(tz, w));

  const agrees = (zone: string, walls: readonly number[], offsets: readonly number[]): boolean => {
    for (let i = 0; i < walls.length; i++) {
      if (zoneOffsetMs(zone, wallToUtc(walls[i], zone)) !== offsets[i]) return false;
    }
    return true;
  };

  const ordered: string[] = [];
  const loc = info.location ? ianaFromName(info.location) : undefined;
  if (loc) ordered.push(loc);
  const city = cityZone(info.tzid);
  if (city) ordered.push(city);
  if (constant && expected[0] % 3_600_000 === 0) {
    const h = expected[0] / 3_600_000;
    ordered.push(h === 0 ? 'UTC' : `Etc/GMT${h > 0 ? '-' : '+'}${Math.abs(h)}`);
  }
  ordered.push(...goldenZones, ...allZones(), ...etcZones);
  const candidates: string[] = [];
  const tried = new Set<string>();
  for (const zone of ordered) {
    const canon = canonicalTimeZone(zone);
    if (!canon || tried.has(canon)) continue;
    tried.add(canon);
    candidates.push(canon);
  }

  // Cheap pre-filter (mid-January and mid-July of each year) before the full comparison.
  const probeWalls = useYears.flatMap((y) => [utcFields(y, 1, 15, 12), utcFields(y, 7, 15, 12)]);
  const probeOffsets = probeWalls.map((w) => vtzOffsetAtWall(tz, w));
  let result: ZoneMatch | undefined;
  for (const zone of hit === null ? [] : candidates) {
    if (agrees(zone, probeWalls, probeOffsets) && agrees(zone, samples, expected)) {
      result = { timeZone: zone, by: 'rules' };
      break;
    }
  }
  if (!result) matchCache.set(key, null);
  else matchCache.set(key, result);
  if (!result && useWalls.length) {
    // Among zones that agree at the events' times, the one closest to the rules all year.
    let best = -1;
    for (const zone of candidates) {
      if (!agrees(zone, useWalls, wallOffsets)) continue;
      let score = 0;
      for (let i = 0; i < samples.length; i++) if (zoneOffsetMs(zone, wallToUtc(samples[i], zone)) === expected[i]) score++;
      if (score > best) {
        best = score;
        result = { timeZone: zone, by: 'instants' };
      }
    }
  }
  return result;
}

export function instantMatchWarning(tzid: string, zone: string): string {
  return `time zone "${tzid}" read as ${zone}: they agree at this event's times, but the VTIMEZONE's daylight-saving rules differ from ${zone}'s in some weeks`;
}

/**
 * Resolves a TZID to an IANA zone: by name first, then (with its VTIMEZONE) by comparing offsets.
 * Returns a warning instead of a zone when neither works; the parser then converts through the
 * VTIMEZONE (if usable) or reads the times as UTC.
 */
export function resolveTimeZone(tzid: string, vtimezones?: Map<string, VTimezoneInfo>, opts: ResolveTimeZoneOptions = {}): TimeZoneResolution {
  const byName = ianaFromName(tzid);
  if (byName) return { timeZone: byName };
  const info = vtimezones?.get(tzid);
  const tz = info ? buildVTimezone(info) : undefined;
  if (!info || !tz) {
    // Names that only state an offset ("UTC+01", "(GMT+01:00)") count when there is no usable
    // definition; a definition with daylight-saving rules says more than its name.
    const fixed = fixedOffsetZone(tzid);
    if (fixed) return { timeZone: fixed };
    if (!info) return { warning: `unknown time zone "${tzid}" (no VTIMEZONE definition): times read as UTC` };
    return { warning: `time zone "${tzid}" has an unusable VTIMEZONE definition: times read as UTC` };
  }
  const matched = matchVTimezone(info, tz, opts.years ?? [], opts.walls);
  if (matched) return matched.by === 'rules' ? { timeZone: matched.timeZone } : { timeZone: matched.timeZone, warning: instantMatchWarning(tzid, matched.timeZone) };
  return { warning: `time zone "${tzid}" matches no IANA zone: times converted to UTC with its VTIMEZONE definition` };
}
