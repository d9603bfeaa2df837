/** Secrets the bridge hands out or checks: feed tokens, bearer tokens, HMAC signatures. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe (the issue asks for at least 128). */
export function newFeedToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Constant-time equality of two secrets of any length: both sides are hashed first, so the
 * comparison never short-circuits on length or on the first differing byte.
 */
export function secretEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Constant-time equality of two hex digests of the same length (false when the lengths differ). */
export function hashEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `Authorization: Bearer <token>` → the token, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1] : undefined;
}

/** The signature a sender puts in `X-Relay-Signature`: `sha256=` + hex HMAC of `<timestamp>.<raw body>`. */
export function signPush(secret: string, timestamp: string, body: Buffer | string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Checks signature and freshness; `toleranceSec` bounds replays of a captured request. */
export function checkSignature(secret: string, timestamp: string | undefined, signature: string | undefined, body: Buffer, nowMs: number, toleranceSec: number): SignatureCheck {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'missing or malformed X-Relay-Timestamp (unix seconds)' };
  if (!signature) return { ok: false, reason: 'missing X-Relay-Signature' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSec) return { ok: false, reason: `timestamp outside the ${toleranceSec} s window` };
  if (!secretEquals(signature, signPush(secret, timestamp, body))) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
