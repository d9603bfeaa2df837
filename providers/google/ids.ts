/**
 * Deterministic Google event ids and the ownership stamp's property names.
 *
 * Google lets a client choose the event id on insert (base32hex `a-v0-9`, 5–1024 chars, unique per
 * calendar; re-use → 409 duplicate, even after the event was deleted). Deriving the id from
 * syncId + source key makes a create idempotent: a retried or concurrent insert of the same event
 * collides instead of duplicating. A deleted event keeps its id reserved, so a re-created event
 * uses the next "generation" of the id (same hash input + `#<n>`).
 */
import { createHash } from 'node:crypto';
import { eventTimeToUtc, formatUtc, formatDate, parseWall } from '../../core/time';
import type { EventTime } from '../../core/event';
import type { OwnershipStamp } from '../port';

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** RFC 4648 base32hex, lower-case, no padding. */
export function base32hex(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32HEX[(buffer << (5 - bits)) & 31];
  return out;
}

/** 160 bits of SHA-256 → 32 base32hex characters: collisions are not a practical concern. */
const ID_BYTES = 20;

/** Highest id generation tried when earlier ids belong to deleted events. */
export const MAX_ID_GENERATION = 20;

/**
 * The Google event id for the event `sourceKey` written by sync `syncId`. Generation 0 is the
 * first choice; generation n ≥ 1 is used when ids 0..n-1 are held by deleted events.
 */
export function googleEventId(syncId: string, sourceKey: string, generation = 0): string {
  const input = `${syncId}\u001f${sourceKey}` + (generation > 0 ? `#${generation}` : '');
  return base32hex(createHash('sha256').update(input, 'utf8').digest().subarray(0, ID_BYTES));
}

/** True for ids this module can produce (any generation). */
export function isDeterministicId(id: string): boolean {
  return id.length === 32 && /^[0-9a-v]+$/.test(id);
}

/**
 * The id Google gives the instance of recurring event `masterId` that originally started at
 * `originalStart`: `{masterId}_{YYYYMMDDTHHMMSSZ}` (UTC) for timed series, `{masterId}_{YYYYMMDD}`
 * for all-day series. Google documents ids as opaque and announced instance-id format changes,
 * so the adapter falls back to `events/{masterId}/instances?originalStart=` when this guess 404s.
 * Floating times are read in `floatingZone` (the zone the series was written in).
 */
export function googleInstanceId(masterId: string, originalStart: EventTime, floatingZone = 'UTC'): string {
  if (originalStart.date !== undefined) return `${masterId}_${formatDate(parseWall(originalStart.date)).replace(/-/g, '')}`;
  const utc = formatUtc(eventTimeToUtc(originalStart, floatingZone));
  return `${masterId}_${utc.replace(/[-:]/g, '')}`;
}

/** Splits an instance id produced by googleInstanceId back into the master id, or undefined. */
export function masterIdOfInstance(id: string): string | undefined {
  const m = /^([0-9a-v]{5,1024})_(\d{8}(?:T\d{6}Z)?)$/i.exec(id);
  return m ? m[1] : undefined;
}

// ---- ownership stamp in extendedProperties.private ----------------------------------------

/** Short names: Google drops private-property keys longer than 44 chars. */
export const STAMP_SYNC_ID = 'crSyncId';
export const STAMP_KEY = 'crKey';
export const STAMP_FINGERPRINT = 'crFp';
/** Digest of the fields written (providers/ownership.ts): a difference on read is a person's edit. */
export const STAMP_DIGEST = 'crDg';
/** Google truncates values beyond 1024 characters; longer source keys are split over crKey, crKey1, … */
export const STAMP_VALUE_MAX = 1024;
export const STAMP_KEY_MAX_CHUNKS = 16;

export class StampTooLongError extends Error {
  constructor(readonly field: 'syncId' | 'sourceKey' | 'fingerprint', readonly length: number) {
    super(`ownership stamp ${field} is ${length} characters; Google keeps at most ${field === 'sourceKey' ? STAMP_VALUE_MAX * STAMP_KEY_MAX_CHUNKS : STAMP_VALUE_MAX}`);
    this.name = 'StampTooLongError';
  }
}

/**
 * The private extended properties that carry `stamp`. The key of an event never changes for a
 * given event id (the id is derived from it), so chunk slots never go stale.
 */
export function stampToProperties(stamp: OwnershipStamp): Record<string, string> {
  if (stamp.syncId.length > STAMP_VALUE_MAX || stamp.syncId.length === 0) throw new StampTooLongError('syncId', stamp.syncId.length);
  if (stamp.fingerprint.length > STAMP_VALUE_MAX) throw new StampTooLongError('fingerprint', stamp.fingerprint.length);
  const chunks = Math.max(1, Math.ceil(stamp.sourceKey.length / STAMP_VALUE_MAX));
  if (chunks > STAMP_KEY_MAX_CHUNKS) throw new StampTooLongError('sourceKey', stamp.sourceKey.length);
  const props: Record<string, string> = { [STAMP_SYNC_ID]: stamp.syncId, [STAMP_FINGERPRINT]: stamp.fingerprint };
  if (stamp.digest) props[STAMP_DIGEST] = stamp.digest;
  for (let i = 0; i < chunks; i++) {
    props[i === 0 ? STAMP_KEY : `${STAMP_KEY}${i}`] = stamp.sourceKey.slice(i * STAMP_VALUE_MAX, (i + 1) * STAMP_VALUE_MAX);
  }
  return props;
}

/** Reads a stamp back; undefined when the event carries no (complete) stamp. */
export function stampFromProperties(props: Record<string, string | null | undefined> | undefined): OwnershipStamp | undefined {
  if (!props) return undefined;
  const syncId = props[STAMP_SYNC_ID];
  const first = props[STAMP_KEY];
  const fingerprint = props[STAMP_FINGERPRINT];
  if (!syncId || first == null || fingerprint == null) return undefined;
  let sourceKey = first;
  // Continuation chunks only exist when the first chunk is full.
  for (let i = 1; i < STAMP_KEY_MAX_CHUNKS && sourceKey.length === i * STAMP_VALUE_MAX; i++) {
    const next = props[`${STAMP_KEY}${i}`];
    if (!next) break;
    sourceKey += next;
  }
  const digest = props[STAMP_DIGEST];
  return { syncId, sourceKey, fingerprint, ...(digest ? { digest } : {}) };
}
