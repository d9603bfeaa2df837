/**
 * "Did this event change?" — a stable content hash of exactly the fields a sync writes to a
 * target calendar, stored on the target in the ownership stamp. An event is rewritten only when
 * its fingerprint changes, so equivalent spellings (key order, RRULE part order, INTERVAL=1,
 * CRLF vs LF, undefined vs "") must hash the same.
 *
 * Fields in the fingerprint (FINGERPRINT_FIELDS): title, description, location, start, end,
 * recurrence (RRULE/RDATE/EXDATE/EXRULE), recurrenceId, status, transparency, and the X- properties
 * the providers write as extended properties (core/xprops.ts keptXProps; only when there are any,
 * so an event without them hashes as before).
 * Deliberately NOT included: attendees and organizer (writing attendees into a room calendar
 * would send invitations, so providers do not write them), categories, url, sequence, created /
 * lastModified (bookkeeping that changes without visible change), X- properties not kept, rooms
 * (routing input, not content), warnings. Providers should write the fingerprinted fields and may add derived
 * ones; a change confined to a non-fingerprinted field does not trigger an update.
 *
 * The hash is SHA-256 implemented here in plain TypeScript because core/ is pure (no node:crypto,
 * runs anywhere the core runs). It is also exported for keys and deterministic ids.
 */
import type { CalendarEvent, EventRecurrence, EventTime } from './event';
import { canonicalTimeZone } from './time';
import { keptXProps } from './xprops';

/** Bump when the canonical form changes: every event is then rewritten once. */
export const FINGERPRINT_VERSION = 'f1';

export const FINGERPRINT_FIELDS = [
  'title', 'description', 'location', 'start', 'end', 'recurrence', 'recurrenceId', 'status', 'transparency',
] as const;

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4) over the UTF-8 bytes of a string.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** SHA-256 digest of the UTF-8 encoding of `text`. */
export function sha256(text: string | Uint8Array): Uint8Array {
  const msg = typeof text === 'string' ? utf8(text) : text;
  const bitLen = msg.length * 8;
  const padded = new Uint8Array(((msg.length + 9 + 63) >> 6) << 6);
  padded.set(msg);
  padded[msg.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 0x1_0000_0000));
  view.setUint32(padded.length - 4, bitLen >>> 0);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(i * 4, h[i]);
  return out;
}

/** Lower-case hex SHA-256 of `text`. */
export function sha256Hex(text: string | Uint8Array): string {
  let s = '';
  for (const b of sha256(text)) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Canonical forms

function canonText(s: string | undefined): string {
  if (s === undefined || s === null) return '';
  return String(s).replace(/\r\n?/g, '\n').replace(/[ \t]+$/gm, '').trim();
}

/** One spelling per instant-kind: "D:2024-11-14", "U:2024-11-14T09:00:00Z", "Z:09:00…@Europe/Berlin", "F:…". */
export function canonTime(t: EventTime | undefined): string {
  if (!t) return '';
  if (t.date !== undefined) return `D:${t.date}`;
  const dt = t.dateTime ?? '';
  if (dt.endsWith('Z')) return `U:${dt}`;
  if (t.timeZone) {
    const tz = canonicalTimeZone(t.timeZone) ?? t.timeZone;
    if (tz === 'UTC' || tz === 'Etc/UTC') return `U:${dt}Z`;
    return `Z:${dt}@${tz}`;
  }
  return `F:${dt}`;
}

// RRULE parts whose value is the RFC 5545 default: stating them changes nothing.
const RRULE_DEFAULTS: Record<string, string> = { INTERVAL: '1', WKST: 'MO' };
// Parts whose comma-separated values are an unordered set.
const RRULE_SET_PARTS = new Set(['BYDAY', 'BYMONTH', 'BYMONTHDAY', 'BYYEARDAY', 'BYWEEKNO', 'BYHOUR', 'BYMINUTE', 'BYSECOND', 'BYSETPOS']);

/** An RRULE with parts sorted, defaults dropped and set-valued parts sorted: equivalent spellings compare equal. */
export function canonRrule(rule: string): string {
  const parts = rule.replace(/^RRULE:/i, '').split(';').map((p) => p.trim()).filter(Boolean);
  const kv: string[] = [];
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq < 0) { kv.push(p.toUpperCase()); continue; }
    const k = p.slice(0, eq).toUpperCase();
    let v = p.slice(eq + 1).toUpperCase();
    if (RRULE_DEFAULTS[k] === v) continue;
    if (RRULE_SET_PARTS.has(k)) v = [...new Set(v.split(',').map((x) => x.trim()).filter(Boolean))].sort().join(',');
    kv.push(`${k}=${v}`);
  }
  return kv.sort().join(';');
}

function canonRecurrence(r: EventRecurrence | undefined): unknown {
  if (!r) return null;
  const rrule = (r.rrule ?? []).map(canonRrule).sort();
  const exrule = (r.exrule ?? []).map(canonRrule).sort();
  const rdate = [...new Set((r.rdate ?? []).map(canonTime))].sort();
  const exdate = [...new Set((r.exdate ?? []).map(canonTime))].sort();
  if (!rrule.length && !exrule.length && !rdate.length && !exdate.length) return null;
  return { rrule, exrule, rdate, exdate };
}

/** The canonical JSON-able form of the fingerprinted fields. */
export function fingerprintInput(e: CalendarEvent): Record<string, unknown> {
  return {
    title: canonText(e.title),
    description: canonText(e.description),
    location: canonText(e.location),
    start: canonTime(e.start),
    end: canonTime(e.end),
    recurrence: canonRecurrence(e.recurrence),
    recurrenceId: canonTime(e.recurrenceId),
    status: e.status ?? 'CONFIRMED',
    transparency: e.transparency ?? 'OPAQUE',
    ...canonXProps(e),
  };
}

/** `{ xProps: [[name, value], …] }` sorted by name, or nothing when no X- property is kept. */
function canonXProps(e: CalendarEvent): { xProps?: string[][] } {
  const kept = keptXProps(e);
  if (!kept.length) return {};
  return { xProps: kept.map((x) => [x.name, x.value]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) };
}

/** JSON with object keys sorted at every level, so key order never changes a hash. */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
}

/** `f1-` + 32 hex chars (128 bits of SHA-256 over the canonical fields). */
export function fingerprint(e: CalendarEvent): string {
  return `${FINGERPRINT_VERSION}-${sha256Hex(stableJson(fingerprintInput(e))).slice(0, 32)}`;
}
