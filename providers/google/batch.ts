/**
 * Google batch requests: `POST {root}/batch/calendar/v3` with a `multipart/mixed` body whose parts
 * are `application/http` requests; the response is multipart too, one part per call with its
 * own status line. Pure build/parse; the adapter sends it through the HttpPort.
 */
import { randomBytes } from 'node:crypto';
import type { HttpMethod } from '../port';

export interface BatchCall {
  method: HttpMethod;
  /** Path (with query) on the API host, e.g. `/calendar/v3/calendars/x/events`. */
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON when an object, verbatim when a string. */
  body?: unknown;
}

export interface BatchPartResponse {
  /** 0-based index of the call this part answers. */
  index: number;
  status: number;
  /** Lower-cased header names of the inner response. */
  headers: Record<string, string>;
  body: string;
}

export class BatchFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchFormatError';
  }
}

export interface BuiltBatch {
  contentType: string;
  body: string;
  boundary: string;
}

/** Builds the multipart body. Part `i` gets `Content-ID: <item-i>` so answers can be matched. */
export function buildBatch(calls: BatchCall[], boundary = `batch_${randomBytes(12).toString('hex')}`): BuiltBatch {
  const CRLF = '\r\n';
  let body = '';
  calls.forEach((c, i) => {
    body += `--${boundary}${CRLF}`;
    body += `Content-Type: application/http${CRLF}`;
    body += `Content-Transfer-Encoding: binary${CRLF}`;
    body += `Content-ID: <item-${i}>${CRLF}${CRLF}`;
    body += `${c.method} ${c.path} HTTP/1.1${CRLF}`;
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    let payload = '';
    if (c.body !== undefined) {
      payload = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json; charset=UTF-8';
      headers['Content-Length'] = String(Buffer.byteLength(payload, 'utf8'));
    }
    for (const [k, v] of Object.entries(headers)) body += `${k}: ${v}${CRLF}`;
    body += CRLF;
    if (payload) body += payload + CRLF;
  });
  body += `--${boundary}--${CRLF}`;
  return { contentType: `multipart/mixed; boundary=${boundary}`, body, boundary };
}

/** The boundary parameter of a multipart content type (quoted or not). */
export function boundaryOf(contentType: string | undefined): string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!m) throw new BatchFormatError(`batch response content-type "${contentType ?? ''}" carries no boundary`);
  return m[1] ?? m[2];
}

function splitHead(text: string): { head: string; rest: string } {
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return { head: text, rest: '' };
  return { head: text.slice(0, m.index), rest: text.slice(m.index + m[0].length) };
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Parses a multipart batch response. Parts are matched to calls by `Content-ID`
 * (`<response-item-i>` answers `<item-i>`), else by position. Tolerates LF line ends, a preamble,
 * an epilogue, and a boundary string that also occurs inside bodies without the leading `--`.
 */
export function parseBatchResponse(contentType: string | undefined, body: string): BatchPartResponse[] {
  const boundary = boundaryOf(contentType);
  // A delimiter is "--boundary" at the start of a line; "--boundary--" closes the body.
  const delim = new RegExp(`(?:^|\\r?\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?=\\r?\\n|$)`, 'g');
  const pieces: string[] = [];
  let last = -1;
  let m: RegExpExecArray | null;
  let closed = false;
  while ((m = delim.exec(body))) {
    if (last >= 0) pieces.push(body.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1]) {
      closed = true;
      break;
    }
  }
  if (last < 0) throw new BatchFormatError(`batch response has no part delimited by "--${boundary}"`);
  if (!closed) pieces.push(body.slice(last)); // truncated body: keep what arrived
  const out: BatchPartResponse[] = [];
  pieces.forEach((raw, position) => {
    const piece = raw.replace(/^\r?\n/, '');
    if (!piece.trim()) return;
    const outer = splitHead(piece);
    const outerHeaders = parseHeaders(outer.head);
    const inner = outer.rest.replace(/^(\r?\n)+/, '');
    const statusLine = /^HTTP\/[\d.]+\s+(\d{3})[^\r\n]*/.exec(inner);
    if (!statusLine) throw new BatchFormatError(`batch part ${position + 1} has no HTTP status line`);
    const afterStatus = inner.slice(statusLine[0].length).replace(/^\r?\n/, '');
    const innerSplit = /^\r?\n/.test(afterStatus) ? { head: '', rest: afterStatus.replace(/^\r?\n/, '') } : splitHead(afterStatus);
    const id = /<?(?:response-)?item-(\d+)>?/i.exec(outerHeaders['content-id'] ?? '');
    out.push({
      index: id ? Number(id[1]) : position,
      status: Number(statusLine[1]),
      headers: parseHeaders(innerSplit.head),
      body: innerSplit.rest.replace(/\r?\n$/, ''),
    });
  });
  return out;
}
