/**
 * Source keys: the identity of a desired event on the target, stored in the ownership stamp
 * (`stamp.sourceKey`). Printable ASCII, space-separated tokens, at most MAX_KEY_LENGTH characters
 * (Google extended-property values are truncated at 1024), stable across runs:
 *
 *   k1 <source> u:<uid>                 single event or series master   (identity 'uid')
 *   k1 <source> c:<hash>[.n]            same, identity 'content' (n-th identical event)
 *   <master key> r:<recurrence id>      override written as an instance of its series (the series is
 *                                       stored as a series in that calendar)
 *   <master key> o:<occurrence start>   one occurrence written as a single event: of a series the
 *                                       target could not store as a series, or an override whose
 *                                       series is not stored as a series in that calendar
 *   k1 <source> h:<sha256>              any of the above when longer than MAX_KEY_LENGTH
 *
 * <source> is the percent-encoded sourceId ('-' when none; hashed when very long) so several
 * sources can share one calendar and a failed source can be recognised from its keys.
 */
import type { CalendarEvent, EventTime } from './event';
import { sha256Hex, canonTime } from './fingerprint';
import { eventTimeToUtc, formatUtc } from './time';

export const KEY_VERSION = 'k1';
export const MAX_KEY_LENGTH = 1024;
const MAX_SOURCE_PART = 200;

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** The <source> token for a sourceId ('-' for none). */
export function sourceKeyPart(sourceId: string | undefined): string {
  if (sourceId === undefined || sourceId === '') return '-';
  const e = enc(sourceId);
  return e.length > MAX_SOURCE_PART ? `h.${sha256Hex(sourceId).slice(0, 40)}` : e;
}

/** The <source> token of a key (see sourceKeyPart), or undefined for a string that is not a k1 key. */
export function sourcePartOfKey(key: string): string | undefined {
  const parts = key.split(' ');
  return parts[0] === KEY_VERSION && parts.length >= 3 ? parts[1] : undefined;
}

function limit(key: string, source: string): string {
  return key.length <= MAX_KEY_LENGTH ? key : `${KEY_VERSION} ${source} h:${sha256Hex(key)}`;
}

/**
 * Compact, zone-independent form of an occurrence time: UTC instant for timed values
 * ("20241114T080000Z"), the date for all-day ("20241114"), the wall time for floating values.
 */
export function occurrenceToken(t: EventTime): string {
  if (t.date !== undefined) return t.date.replace(/-/g, '');
  const dt = t.dateTime ?? '';
  if (!dt.endsWith('Z') && !t.timeZone) return dt.replace(/[-:]/g, '');
  try {
    return formatUtc(eventTimeToUtc(t)).replace(/[-:]/g, '');
  } catch {
    return enc(canonTime(t)); // unknown zone: still stable, just not zone-independent
  }
}

/** Key of a single event or series master by UID (its recurrenceId is ignored; see overrideKey). */
export function uidKey(e: Pick<CalendarEvent, 'uid' | 'sourceId'>): string {
  const source = sourceKeyPart(e.sourceId);
  return limit(`${KEY_VERSION} ${source} u:${enc(e.uid)}`, source);
}

/** What identity 'content' hashes: what the event is, not what it is called by its source. */
export function contentIdentity(e: CalendarEvent): string {
  return sha256Hex(JSON.stringify([e.title ?? '', canonTime(e.start), canonTime(e.end), e.location ?? '', e.recurrence?.rrule ?? [], (e.recurrence?.rdate ?? []).map(canonTime)])).slice(0, 32);
}

/** Key by content; `n` (1-based) tells apart identical events of one source. */
export function contentKey(e: CalendarEvent, n = 1): string {
  const source = sourceKeyPart(e.sourceId);
  return limit(`${KEY_VERSION} ${source} c:${contentIdentity(e)}${n > 1 ? `.${n}` : ''}`, source);
}

/**
 * Key of an override written as an instance of its series (the series is stored as a series in the
 * same calendar). An override written as a single event has an occurrenceKey instead: the two forms
 * are different target events, so a change of form is a delete + create, never an update that
 * would leave the other form in place.
 */
export function overrideKey(masterKey: string, recurrenceId: EventTime): string {
  return limit(`${masterKey} r:${occurrenceToken(recurrenceId)}`, sourcePartOfKey(masterKey) ?? '-');
}

/**
 * Key of one occurrence written as a single event: an occurrence of a series that was expanded
 * into single events, or an override whose calendar does not hold its series as a series.
 */
export function occurrenceKey(masterKey: string, originalStart: EventTime): string {
  return limit(`${masterKey} o:${occurrenceToken(originalStart)}`, sourcePartOfKey(masterKey) ?? '-');
}

/** A source key taken apart (see the format at the top of this file). */
export interface ParsedKey {
  key: string;
  /** The <source> token, or undefined for a string that is not a k1 key. */
  source?: string;
  /** 'base': a single event or series master; 'override': `<master> r:<rid>`; 'occurrence': `<master> o:<start>`. */
  kind: 'base' | 'override' | 'occurrence';
  /** The key of its series master (the key itself for 'base'). */
  masterKey: string;
  /** The occurrence token after `r:` / `o:` (absent for 'base'). */
  token?: string;
}

const SUFFIX = / ([ro]):([^ ]+)$/;

/** The one reader of the key format: every "is this an override / whose master is it" question goes through here. */
export function parseKey(key: string): ParsedKey {
  const source = sourcePartOfKey(key);
  const m = SUFFIX.exec(key);
  if (!m) return { key, ...(source !== undefined ? { source } : {}), kind: 'base', masterKey: key };
  return { key, ...(source !== undefined ? { source } : {}), kind: m[1] === 'r' ? 'override' : 'occurrence', masterKey: key.slice(0, m.index), token: m[2] };
}

/** The same occurrence in the other written form: `<master> r:<t>` ⇄ `<master> o:<t>` (undefined for a base key). */
export function otherFormKey(k: ParsedKey): string | undefined {
  if (k.kind === 'base') return undefined;
  return `${k.masterKey} ${k.kind === 'override' ? 'o' : 'r'}:${k.token}`;
}
