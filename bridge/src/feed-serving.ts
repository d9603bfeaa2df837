/**
 * Serving subscribed feeds (`GET /feeds/<token>.ics|.json`) from memory.
 *
 * Two caches, both per instance:
 * - token → current version (`FeedHead`), for `feedCacheMs`: a publish or rotation on this instance
 *   clears it at once, another instance on the same database sees it at most `feedCacheMs` later;
 * - version → the served bytes (plain and gzip) with their header sets, computed once per version.
 *
 * The Fastify route and the HTTP fast path (server.ts `serveFromMemory`) answer from the same
 * `FeedRepresentation`s, so both send the same status, headers and bytes.
 */
import * as crypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { CalendarEvent } from '../../core/event';
import type { FeedHead, FeedVersion } from './store/types';

/** Feed tokens are base64url (newFeedToken: 43 characters); anything else is not looked up. */
export const FEED_TOKEN = /^[A-Za-z0-9_-]{22,128}$/;

const TYPES: Record<'ics' | 'json', string> = { ics: 'text/calendar; charset=utf-8', json: 'application/json; charset=utf-8' };

/** One encoding of one feed version: its ETag, bytes and the complete 200 and 304 header sets. */
export interface FeedRepresentation {
  etag: string;
  body: Buffer;
  /** Headers of a 200 answer (object for Fastify, flat list for `writeHead`). */
  ok: OutgoingHttpHeaders;
  okFlat: string[];
  /** Headers of a 304 answer: the same validators and caching headers, no body headers. */
  notModified: OutgoingHttpHeaders;
  notModifiedFlat: string[];
  /** The same answers as bytes for the socket path (feed-socket.ts): status line and headers up to `Date: `. */
  rawHead: { 200: string; 304: string };
}

export interface FeedVariant {
  plain: FeedRepresentation;
  gzip: FeedRepresentation;
  /** Both ETags: a client may revalidate with either, whatever it accepts now. */
  etags: [string, string];
  lastModified: number;
}

export interface RenderedFeed {
  ics: FeedVariant;
  json: FeedVariant;
  lastModified: number;
  etagBase: string;
  events: CalendarEvent[];
}

function flat(h: OutgoingHttpHeaders): string[] {
  return Object.entries(h).flatMap(([k, v]) => [k, String(v)]);
}

/** What Node's writeHead(status, headers) writes before its own Date, Connection and Keep-Alive headers. */
function rawHead(statusLine: string, h: OutgoingHttpHeaders): string {
  return `HTTP/1.1 ${statusLine}\r\n${Object.entries(h).map(([k, v]) => `${k}: ${String(v)}\r\n`).join('')}Date: `;
}

/** The header sets and bytes of one feed body (used for the whole feed and for single events). */
export function feedVariant(etagBase: string, type: string, lastModified: number, body: Buffer, gz: Buffer = gzipSync(body)): FeedVariant {
  const validators = { 'last-modified': new Date(lastModified).toUTCString(), 'cache-control': 'no-cache', vary: 'Accept-Encoding' };
  const rep = (etag: string, bytes: Buffer, encoding?: string): FeedRepresentation => {
    const notModified = { etag, ...validators };
    const ok: OutgoingHttpHeaders = { ...notModified, 'content-type': type, ...(encoding ? { 'content-encoding': encoding } : {}), 'content-length': String(bytes.length) };
    return { etag, body: bytes, ok, okFlat: flat(ok), notModified, notModifiedFlat: flat(notModified), rawHead: { 200: rawHead('200 OK', ok), 304: rawHead('304 Not Modified', notModified) } };
  };
  const plain = rep(`"${etagBase}"`, body);
  const gzip = rep(`"${etagBase}-gz"`, gz, 'gzip');
  return { plain, gzip, etags: [plain.etag, gzip.etag], lastModified };
}

export function renderFeed(v: FeedVersion): RenderedFeed {
  const etagBase = v.hash.slice(0, 32);
  return {
    ics: feedVariant(`${etagBase}-ics`, TYPES.ics, v.createdAt, Buffer.from(v.ics, 'utf8')),
    json: feedVariant(`${etagBase}-json`, TYPES.json, v.createdAt, Buffer.from(v.json, 'utf8')),
    lastModified: v.createdAt,
    etagBase,
    events: (JSON.parse(v.json) as { events: CalendarEvent[] }).events,
  };
}

/** The request headers a feed answer depends on (Node's IncomingHttpHeaders, or the socket path's own). */
export type ConditionalHeaders = Pick<IncomingHttpHeaders, 'accept-encoding' | 'if-none-match' | 'if-modified-since'>;

const GZIP = /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*(,|$))[\d.]+)?\s*(,|$)/i;

export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return acceptEncoding !== undefined && GZIP.test(acceptEncoding);
}

/** RFC 9110 §13.1.2/§13.1.3: If-None-Match (weak comparison) wins over If-Modified-Since. */
export function isNotModified(headers: ConditionalHeaders, variant: FeedVariant, current: string): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    if (inm === current) return true; // the common revalidation, without splitting
    if (inm.trim() === '*') return true;
    const given = inm.split(',').map((t) => t.trim().replace(/^W\//, ''));
    return given.some((t) => variant.etags.includes(t));
  }
  const ims = headers['if-modified-since'];
  if (ims) {
    const t = Date.parse(ims);
    return !Number.isNaN(t) && Math.floor(variant.lastModified / 1000) * 1000 <= t;
  }
  return false;
}

/** What to answer a GET of `variant` with these request headers: 304 or 200, and which encoding. */
export function chooseAnswer(headers: ConditionalHeaders, variant: FeedVariant): { status: 200 | 304; rep: FeedRepresentation } {
  const rep = acceptsGzip(headers['accept-encoding']) ? variant.gzip : variant.plain;
  return { status: isNotModified(headers, variant, rep.etag) ? 304 : 200, rep };
}

interface HeadEntry {
  head: FeedHead | undefined;
  at: number;
  /** SHA-256 of head.token, for the constant-time comparison with the requested token's digest. */
  digest: Buffer | undefined;
  /** Key of the rendered version in `rendered`. */
  key: string;
}

// crypto.hash (Node ≥ 20.12) is the one-shot digest without a Hash object: a third of the cost.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'buffer') => Buffer }).hash;
const sha256 = oneShot ? (s: string) => oneShot('sha256', s, 'buffer') : (s: string) => createHash('sha256').update(s, 'utf8').digest();

export interface TokenDigest {
  digest: Buffer;
  hex: string;
}

/**
 * The token → version cache and the rendered versions. A token is looked up by its SHA-256 (the
 * store keeps only hashes) and then compared in constant time with the head's token digest, so a
 * wrong token is a plain 404 whichever way it reached the cache.
 */
export class FeedCache {
  private readonly heads = new Map<string, HeadEntry>();
  private readonly rendered = new Map<string, RenderedFeed>();
  /**
   * Bumped by every invalidate(). A lookup that started before a publish on this instance and
   * ends after it (an async store) must not cache the version it read: remember() is given the
   * generation from before the read and caches only if nothing was invalidated meanwhile.
   */
  generation = 0;

  constructor(private readonly ttlMs: number, private readonly maxHeads = 10_000, private readonly maxRendered = 64) {}

  static digest(token: string): TokenDigest | undefined {
    if (!FEED_TOKEN.test(token)) return undefined;
    const digest = sha256(token);
    return { digest, hex: digest.toString('hex') };
  }

  /** The cached lookup for this token digest if younger than the TTL. */
  fresh(hex: string, now: number): HeadEntry | undefined {
    const e = this.heads.get(hex);
    return e && now - e.at < this.ttlMs ? e : undefined;
  }

  remember(hex: string, head: FeedHead | undefined, now: number, generation = this.generation): HeadEntry {
    const entry: HeadEntry = {
      head,
      at: now,
      digest: head ? sha256(head.token) : undefined,
      key: head ? `${head.name}\u001f${head.version}\u001f${head.hash}` : '',
    };
    if (this.ttlMs > 0 && generation === this.generation) {
      if (this.heads.size >= this.maxHeads) this.heads.clear();
      this.heads.set(hex, entry);
    }
    return entry;
  }

  /** True when the entry is a feed whose token is the one with this digest (constant time). */
  static matches(entry: HeadEntry | undefined, d: TokenDigest): entry is HeadEntry & { head: FeedHead; digest: Buffer } {
    return entry?.head !== undefined && entry.digest !== undefined && timingSafeEqual(entry.digest, d.digest);
  }

  renderedFor(entry: HeadEntry): RenderedFeed | undefined {
    return this.rendered.get(entry.key);
  }

  addRendered(entry: HeadEntry, r: RenderedFeed): void {
    if (this.rendered.size >= this.maxRendered) this.rendered.delete(this.rendered.keys().next().value as string);
    this.rendered.set(entry.key, r);
  }

  /** A publish or rotation on this instance: every token is looked up again. */
  invalidate(): void {
    this.generation++;
    this.heads.clear();
  }
}
