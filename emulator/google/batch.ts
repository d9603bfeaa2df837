/**
 * Google's batch endpoint (`POST /batch/calendar/v3`): a multipart/mixed body whose parts are
 * `application/http` requests; each is served through the full pipeline (faults, limits, log) and
 * the answer is multipart/mixed in request order, each part with its own status line and
 * `Content-ID: response-<id>`.
 */
import { randomBytes } from 'node:crypto';
import type { EmuContext, EmuRequest, EmuResponse } from '../types';
import { badRequest } from './errors';

export const MAX_BATCH_PARTS = 1000;

interface Part {
  contentId?: string;
  req: EmuRequest;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  409: 'Conflict', 410: 'Gone', 412: 'Precondition Failed', 429: 'Too Many Requests', 500: 'Internal Server Error',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

function splitHead(text: string): [string, string] {
  const m = /\r?\n\r?\n/.exec(text);
  return m ? [text.slice(0, m.index), text.slice(m.index + m[0].length)] : [text, ''];
}

function headersOf(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Parses the multipart body into inner requests, or returns a 400. */
export function parseBatch(req: EmuRequest): Part[] | EmuResponse {
  const ct = req.headers['content-type'] ?? '';
  const bm = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(ct);
  if (!/^multipart\/mixed/i.test(ct) || !bm) return badRequest('Batch requests must be multipart/mixed with a boundary.');
  const boundary = bm[1] ?? bm[2];
  const text = req.body.toString('utf8');
  const chunks = text.split(`--${boundary}`).slice(1);
  const parts: Part[] = [];
  for (const chunk of chunks) {
    if (chunk.startsWith('--')) break; // closing delimiter
    const [partHead, partBody] = splitHead(chunk.replace(/^\r?\n/, ''));
    const ph = headersOf(partHead);
    if (!/application\/http/i.test(ph['content-type'] ?? '')) return badRequest('Each batch part must have Content-Type: application/http.');
    const [innerHead, innerBody] = splitHead(partBody);
    const [requestLine, ...headerLines] = innerHead.split(/\r?\n/);
    const rl = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/[\d.]+)?$/.exec(requestLine.trim());
    if (!rl) return badRequest(`Invalid request line in batch part: "${requestLine}"`);
    const url = new URL(rl[2], 'http://emulator');
    const headers = { ...pickOuter(req.headers), ...headersOf(headerLines.join('\n')) };
    parts.push({
      contentId: ph['content-id']?.replace(/^<|>$/g, ''),
      req: { method: rl[1], path: url.pathname, query: url.searchParams, headers, body: Buffer.from(innerBody.replace(/\r?\n$/, ''), 'utf8') },
    });
  }
  return parts;
}

/** Outer headers that apply to every part (Google: the batch's Authorization covers the parts). */
function pickOuter(h: Record<string, string>): Record<string, string> {
  return h['authorization'] ? { authorization: h['authorization'] } : {};
}

export async function handleBatch(req: EmuRequest, ctx: EmuContext): Promise<EmuResponse> {
  const parts = parseBatch(req);
  if (!Array.isArray(parts)) return parts;
  if (parts.length === 0) return badRequest('A batch request needs at least one part.');
  if (parts.length > MAX_BATCH_PARTS) return badRequest(`A batch request may contain at most ${MAX_BATCH_PARTS} calls; got ${parts.length}.`);
  ctx.recordBatch(parts.length);
  const boundary = `batch_${randomBytes(12).toString('hex')}`;
  const out: string[] = [];
  // Parts run one after another: per-part fault scripts stay deterministic.
  for (const part of parts) {
    const r = await ctx.dispatch(part.req);
    const body = r.body === undefined || r.status === 204 ? '' : Buffer.isBuffer(r.body) ? r.body.toString('utf8') : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    const headerLines = Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
    if (body && !Object.keys(r.headers ?? {}).some((k) => k.toLowerCase() === 'content-type')) headerLines.push('Content-Type: application/json; charset=UTF-8');
    out.push(
      `--${boundary}\r\nContent-Type: application/http\r\n${part.contentId ? `Content-ID: <response-${part.contentId}>\r\n` : ''}\r\n` +
      `HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? ''}\r\n${headerLines.map((l) => l + '\r\n').join('')}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}\r\n`,
    );
  }
  out.push(`--${boundary}--\r\n`);
  return { status: 200, headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}` }, body: out.join('') };
}
