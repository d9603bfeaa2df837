/**
 * Calendar object resources (RFC 4791 §4.1) ⇄ the events a sync writes. Pure: no I/O.
 *
 * - One resource per synced event or series: the master VEVENT and its overridden instances
 *   (RECURRENCE-ID) together, as CalDAV requires for one UID. Its file name and UID derive from
 *   syncId + the master's sync key, so a retried create is the same PUT to the same name.
 * - The ownership stamp travels in each VEVENT as X-properties (X-CALENDAR-RELAY-SYNC-ID, -KEY,
 *   -FINGERPRINT) plus -DIGEST: the engine's contentDigest (providers/ownership.ts: title, location,
 *   start, end, recurrence) of the VEVENT as read back right after writing. A later edit by a person
 *   (time, title, an EXDATE added in their client) differs from it and is reported as
 *   `TargetEvent.edited`, like Google and Graph do; a server re-serialising the VEVENT (escaped X-
 *   values, re-ordered properties) changes none of the digested fields.
 * - Components we did not write (a person's own override added to our series, VTODOs) and unknown
 *   properties are kept verbatim when the resource is rewritten.
 */
import type { CalendarEvent, XProperty } from '../../core/event';
import { sha256Hex } from '../../core/fingerprint';
import { parseIcs } from '../../core/ics/parse';
import { contentLine, escapeText, foldLine, veventLines, zonesUsed, DEFAULT_PRODID } from '../../core/ics/serialize';
import { buildVtimezone } from '../../core/ics/vtimezone';
import { occurrenceToken } from '../../core/sync-key';
import { isKnownTimeZone } from '../../core/time';
import type { OwnershipStamp } from '../port';
import { contentDigest, editedFields } from '../ownership';

export const STAMP_SYNC_ID = 'X-CALENDAR-RELAY-SYNC-ID';
export const STAMP_KEY = 'X-CALENDAR-RELAY-KEY';
export const STAMP_FINGERPRINT = 'X-CALENDAR-RELAY-FINGERPRINT';
export const STAMP_DIGEST = 'X-CALENDAR-RELAY-DIGEST';
/** The source's own UID (the resource's UID is derived, so two sources or a person's copy cannot collide). */
export const STAMP_SOURCE_UID = 'X-CALENDAR-RELAY-SOURCE-UID';
const STAMP_PREFIX = 'X-CALENDAR-RELAY-';

/**
 * The zone floating times are read in for the digest. CalDAV stores floating times as floating
 * (no per-calendar zone is applied on write), so any fixed zone gives the same digest on both
 * sides; no zone record is needed.
 */
export const DIGEST_ZONE = 'UTC';

const OVERRIDE_SUFFIX = / r:[^ ]+$/;

/** The sync key of the resource holding `key`: an instance override lives with its series master. */
export function resourceKeyOf(key: string): string {
  const m = OVERRIDE_SUFFIX.exec(key);
  return m ? key.slice(0, m.index) : key;
}

/** Resource file name for (syncId, key): `cr-<40 hex>.ics`. */
export function resourceName(syncId: string, key: string): string {
  return `cr-${sha256Hex(`${syncId}\u0000${resourceKeyOf(key)}`).slice(0, 40)}.ics`;
}

/** The UID written for every VEVENT of the resource. */
export function resourceUid(name: string): string {
  return `${name.replace(/\.ics$/, '')}@calendar-relay`;
}

/** One top-level VEVENT of a resource. */
export interface ResourceComponent {
  /** Unfolded content lines, BEGIN:VEVENT … END:VEVENT. */
  lines: string[];
  /** The event as the core reads it (stamp properties removed, source UID restored); undefined when unreadable. */
  event?: CalendarEvent;
  stamp?: OwnershipStamp;
  /** occurrenceToken of the RECURRENCE-ID ('' for the master). */
  rid: string;
  /** The digested fields that no longer match our digest (a person's edit); undefined when none or no digest this version reads. */
  edited?: string[];
  problem?: string;
}

export interface ParsedResource {
  components: ResourceComponent[];
  /** Raw VTIMEZONE blocks (unfolded lines), kept for components we do not rewrite. */
  timezones: Map<string, string[]>;
  /** Other top-level components (VTODO, …), kept verbatim. */
  others: string[][];
}

function unfold(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').replace(/\n[ \t]/g, '').split('\n').filter((l) => l.trim() !== '');
}

function unescapeText(v: string): string {
  return v.replace(/\\([\\;,nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

function propName(line: string): string {
  const m = /^[A-Za-z0-9-]+/.exec(line);
  return m ? m[0].toUpperCase() : '';
}

function propValue(line: string): string {
  // The value starts after the first colon outside a quoted parameter value.
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') q = !q;
    else if (c === ':' && !q) return line.slice(i + 1);
  }
  return '';
}

function calendarText(blocks: string[][]): string {
  const L = ['BEGIN:VCALENDAR', 'VERSION:2.0', contentLine('PRODID', [], escapeText(DEFAULT_PRODID)), 'CALSCALE:GREGORIAN'];
  for (const b of blocks) L.push(...b);
  L.push('END:VCALENDAR');
  return L.map(foldLine).join('\r\n') + '\r\n';
}

/** Reads one VEVENT (with the resource's zones) through the core parser. */
function readComponent(lines: string[], timezones: Map<string, string[]>): ResourceComponent {
  const tzBlocks = [...timezones.values()];
  let stampSync: string | undefined;
  let stampKey: string | undefined;
  let stampFp: string | undefined;
  let digest: string | undefined;
  let sourceUid: string | undefined;
  for (const l of lines) {
    const name = propName(l);
    if (!name.startsWith(STAMP_PREFIX)) continue;
    const v = unescapeText(propValue(l));
    if (name === STAMP_SYNC_ID) stampSync = v;
    else if (name === STAMP_KEY) stampKey = v;
    else if (name === STAMP_FINGERPRINT) stampFp = v;
    else if (name === STAMP_DIGEST) digest = v;
    else if (name === STAMP_SOURCE_UID) sourceUid = v;
  }
  const comp: ResourceComponent = { lines, rid: '' };
  if (stampSync !== undefined && stampKey !== undefined) comp.stamp = { syncId: stampSync, sourceKey: stampKey, fingerprint: stampFp ?? '', ...(digest ? { digest } : {}) };
  try {
    const r = parseIcs(calendarText([...tzBlocks, lines]));
    const e = r.events[0];
    if (!e) {
      comp.problem = r.errors[0]?.message ?? 'unreadable VEVENT';
      const rl = lines.find((l) => propName(l) === 'RECURRENCE-ID');
      comp.rid = rl ? propValue(rl) : '';
      return comp;
    }
    const xProps = (e.xProps ?? []).filter((x: XProperty) => !x.name.toUpperCase().startsWith(STAMP_PREFIX));
    const event: CalendarEvent = { ...e, ...(sourceUid !== undefined ? { uid: sourceUid } : {}) };
    if (xProps.length) event.xProps = xProps;
    else delete event.xProps;
    delete event.warnings;
    comp.event = event;
    comp.rid = e.recurrenceId ? occurrenceToken(e.recurrenceId) : '';
    const edited = editedFields(digest, event, DIGEST_ZONE);
    if (edited) comp.edited = edited;
  } catch (err) {
    comp.problem = (err as Error).message;
  }
  return comp;
}

/** Splits a calendar object resource into its VEVENTs (read), VTIMEZONEs and other components (kept). */
export function parseResource(text: string): ParsedResource {
  const lines = unfold(text);
  const out: ParsedResource = { components: [], timezones: new Map(), others: [] };
  const raw: string[][] = [];
  let depth = 0;
  let block: string[] | undefined;
  let kind = '';
  for (const l of lines) {
    const up = l.toUpperCase();
    if (up.startsWith('BEGIN:')) {
      depth++;
      if (depth === 2) {
        block = [];
        kind = up.slice(6).trim();
      }
    }
    if (block && depth >= 2) block.push(l);
    if (up.startsWith('END:')) {
      if (depth === 2 && block) {
        if (kind === 'VEVENT') raw.push(block);
        else if (kind === 'VTIMEZONE') {
          const tz = block.find((x) => propName(x) === 'TZID');
          out.timezones.set(tz ? propValue(tz) : `#${out.timezones.size}`, block);
        } else out.others.push(block);
        block = undefined;
      }
      depth--;
    }
  }
  for (const b of raw) out.components.push(readComponent(b, out.timezones));
  return out;
}

/** The VEVENT lines we write for `event` under `stamp` in the resource `name` (digest included). */
export function componentFor(name: string, event: CalendarEvent, stamp: OwnershipStamp, now: number): ResourceComponent {
  // X-CALENDAR-RELAY-* from the source would claim ownership that is not ours to claim.
  const xProps = (event.xProps ?? []).filter((x) => !x.name.toUpperCase().startsWith(STAMP_PREFIX));
  const written: CalendarEvent = { ...event, uid: resourceUid(name), xProps };
  delete written.sourceId;
  delete written.warnings;
  // No ORGANIZER / ATTENDEE, as on Google and Microsoft 365: servers with implicit scheduling
  // (RFC 6638: Nextcloud, iCloud, Fastmail) would mail invitations to the feed's people from the room.
  delete written.organizer;
  delete written.attendees;
  const body = veventLines(written, now);
  const stampLines = [
    contentLine(STAMP_SYNC_ID, [], escapeText(stamp.syncId)),
    contentLine(STAMP_KEY, [], escapeText(stamp.sourceKey)),
    contentLine(STAMP_FINGERPRINT, [], escapeText(stamp.fingerprint)),
    contentLine(STAMP_SOURCE_UID, [], escapeText(event.uid)),
  ];
  const withStamp = [...body.slice(0, -1), ...stampLines];
  const zones = zoneBlocks([written]);
  const probe = readComponent([...withStamp, 'END:VEVENT'], zones);
  if (!probe.event) throw new Error(`event ${event.uid}: written VEVENT does not read back (${probe.problem ?? 'unknown'})`);
  const digest = contentDigest(probe.event, DIGEST_ZONE);
  const lines = [...withStamp, contentLine(STAMP_DIGEST, [], escapeText(digest)), 'END:VEVENT'];
  return { ...probe, lines, stamp: { ...stamp, digest } };
}

function zoneBlocks(events: CalendarEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [tzid, span] of zonesUsed(events)) {
    if (!isKnownTimeZone(tzid)) continue;
    out.set(tzid, buildVtimezone(tzid, span.min - 1, span.max + 1));
  }
  return out;
}

/** The resource text for its components: VTIMEZONEs for every TZID used (ours rebuilt, others kept), then the components. */
export function serializeResource(res: ParsedResource): string {
  const events = res.components.map((c) => c.event).filter((e): e is CalendarEvent => !!e);
  const fresh = zoneBlocks(events);
  const zones = new Map(res.timezones);
  for (const [k, v] of fresh) zones.set(k, v);
  // Keep only zones some component still refers to.
  const used = new Set<string>();
  for (const c of res.components) for (const l of c.lines) {
    const m = /;TZID=("?)([^;:"]+)\1[;:]/i.exec(l);
    if (m) used.add(m[2]);
  }
  const tz = [...zones].filter(([k]) => used.has(k)).map(([, v]) => v);
  // Master first, then overrides in RECURRENCE-ID order, then anything unreadable: a stable text.
  const comps = [...res.components].sort((a, b) => (a.rid === b.rid ? 0 : a.rid === '' ? -1 : b.rid === '' ? 1 : a.rid < b.rid ? -1 : 1));
  return calendarText([...tz, ...comps.map((c) => c.lines), ...res.others]);
}
