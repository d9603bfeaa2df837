/**
 * Detecting a person's edit of an event we wrote. The stamp carries a digest of what we wrote
 * (`OwnershipStamp.digest`): the provider computes it from the API body it sends, mapped back
 * through its own reader, and recomputes it from the event it reads. The same reader on both
 * sides means the server's re-formatting (offsets instead of zone names, `Z` vs `+00:00`, a
 * re-ordered JSON) changes nothing; a person's change of title, place or time does.
 *
 * One short hash per field, so the report can say which field changed:
 *   `d1 t:<8 hex> l:<8 hex> s:<8 hex> e:<8 hex> r:<8 hex>`  (title, location, start, end, recurrence;
 *   a fast 32-bit hash per field, see fieldHash)
 * Description, status and transparency are left out: targets rewrite descriptions (Graph turns
 * text into HTML), and a status change of an override is ours (Google keeps a removed override
 * as a cancelled instance).
 */
import type { CalendarEvent, EventTime } from '../core/event';
import { canonTime } from '../core/fingerprint';
import { eventTimeToUtc } from '../core/time';

const FIELDS = [['t', 'title'], ['l', 'location'], ['s', 'start'], ['e', 'end'], ['r', 'recurrence']] as const;

function timeToken(t: EventTime | undefined, zone: string): string {
  if (!t) return '';
  if (t.date !== undefined) return `d${t.date}`;
  try {
    return `t${eventTimeToUtc(t, zone)}`;
  } catch {
    return `x${canonTime(t)}`;
  }
}

/**
 * 32 bits of a fast non-cryptographic string hash, as 8 hex digits. It runs for every event listed
 * and written; a collision only means one edit of one field goes unnoticed (about 1 in 4 billion).
 */
function fieldHash(s: string): string {
  let h1 = 0x9e3779b9;
  let h2 = 0x85ebca6b;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 15), 0x2c1b3c6d) ^ Math.imul(h2 ^ (h2 >>> 13), 0x297a2d39);
  return ((h1 ^ (h1 >>> 16)) >>> 0).toString(16).padStart(8, '0');
}

function fieldValues(e: CalendarEvent, zone: string): Record<(typeof FIELDS)[number][1], string> {
  const r = e.recurrence;
  const recurrence = r && (r.rrule.length || r.rdate.length)
    ? JSON.stringify([
      r.rrule.map((x) => x.replace(/^RRULE:/i, '').toUpperCase().split(';').sort().join(';')).sort(),
      r.rdate.map((x) => timeToken(x, zone)).sort(),
      r.exdate.map((x) => timeToken(x, zone)).sort(),
    ])
    : '';
  return {
    title: (e.title ?? '').trim(),
    location: (e.location ?? '').trim(),
    start: timeToken(e.start, zone),
    end: timeToken(e.end, zone),
    recurrence,
  };
}

/** The digest of an event's title, location, start, end and recurrence (times read in `zone` when floating). */
export function contentDigest(e: CalendarEvent, zone: string): string {
  const v = fieldValues(e, zone);
  return `d1 ${FIELDS.map(([short, name]) => `${short}:${fieldHash(v[name])}`).join(' ')}`;
}

/**
 * The fields of `e` that differ from what `stored` (a contentDigest) describes; undefined when
 * nothing differs or `stored` is not a digest this version reads (no evidence of an edit).
 */
export function editedFields(stored: string | undefined, e: CalendarEvent, zone: string): string[] | undefined {
  if (!stored || !stored.startsWith('d1 ')) return undefined;
  const was = new Map(stored.slice(3).split(' ').map((p) => [p.slice(0, 1), p.slice(2)] as const));
  const now = new Map(contentDigest(e, zone).slice(3).split(' ').map((p) => [p.slice(0, 1), p.slice(2)] as const));
  const changed = FIELDS.filter(([short]) => was.has(short) && was.get(short) !== now.get(short)).map(([, name]) => name);
  return changed.length ? [...changed] : undefined;
}
