/**
 * The fetch-based feed transport (global fetch, or an injected one): streaming size limit and a
 * timer for the whole request. The CLI and the bridge use it through read.ts; the n8n nodes pass
 * their own HttpPort instead (n8n's rules forbid timers in node code).
 */
import { FeedReadError, redactUrl, type FeedSource, type RawAnswer, type RawGet } from './url';

export function fetchRawGet(doFetch: typeof fetch = fetch): RawGet {
  return (source, url, headers, timeoutMs, maxBytes) => viaFetch(doFetch, source, url, headers, timeoutMs, maxBytes);
}

async function viaFetch(doFetch: typeof fetch, source: FeedSource, url: string, headers: Record<string, string>, timeoutMs: number, maxBytes: number): Promise<RawAnswer> {
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, timeoutMs);
  try {
    let res: Response;
    try {
      res = await doFetch(url, { headers, signal: ctrl.signal, redirect: 'follow' });
    } catch (err) {
      if (timedOut) throw new FeedReadError(source.id, 'timeout', `no answer from ${redactUrl(url)} within ${timeoutMs} ms (timeoutMs)`);
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new FeedReadError(source.id, 'network', `cannot reach ${redactUrl(url)}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    const head = { status: res.status, statusText: res.statusText, retryAfter: res.headers.get('retry-after') ?? undefined, etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined };
    if (res.status < 200 || res.status >= 300) {
      await discard(res);
      return { ...head, bytes: new Uint8Array() };
    }
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await discard(res);
      throw new FeedReadError(source.id, 'too-large', `${redactUrl(url)} sends ${declared} bytes, over the limit of ${maxBytes} (maxBytes)`);
    }
    try {
      return { ...head, bytes: await readLimited(res, maxBytes) };
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new FeedReadError(source.id, 'too-large', `${redactUrl(url)} sent more than the limit of ${maxBytes} bytes (maxBytes)`);
      if (timedOut) throw new FeedReadError(source.id, 'timeout', `body of ${redactUrl(url)} not complete within ${timeoutMs} ms (timeoutMs)`);
      throw new FeedReadError(source.id, 'network', `reading ${redactUrl(url)} failed: ${(err as Error).message}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

class BodyTooLarge extends Error {}

async function readLimited(res: Response, maxBytes: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // Nothing to keep.
  }
}

