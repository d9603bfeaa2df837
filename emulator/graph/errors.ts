/**
 * Graph's error envelope: `{error:{code,message,innerError:{date,"request-id","client-request-id"}}}`.
 * Handlers throw GraphHttpError; the module turns it into the envelope in one place.
 */
import { randomUUID } from 'node:crypto';
import type { EmuRequest, EmuResponse } from '../types';

export class GraphHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GraphHttpError';
  }
}

/** Headers Graph sets on every response: a request id, echoed client-request-id. */
export function correlationHeaders(req: EmuRequest | undefined): Record<string, string> {
  const requestId = randomUUID();
  const clientRequestId = req?.headers['client-request-id'] ?? requestId;
  return { 'request-id': requestId, 'client-request-id': clientRequestId };
}

/** `YYYY-MM-DDTHH:MM:SS`, the innerError date format Graph uses (no fraction, no Z). */
function innerErrorDate(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 19);
}

export function errorResponse(
  status: number,
  code: string,
  message: string,
  req: EmuRequest | undefined,
  nowMs: number,
  extraHeaders: Record<string, string> = {},
): EmuResponse {
  const corr = correlationHeaders(req);
  return {
    status,
    headers: { 'content-type': 'application/json', ...corr, ...extraHeaders },
    body: {
      error: {
        code,
        message,
        innerError: { date: innerErrorDate(nowMs), 'request-id': corr['request-id'], 'client-request-id': corr['client-request-id'] },
      },
    },
  };
}

export const notFound = (): GraphHttpError =>
  new GraphHttpError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');

export const badRequest = (message: string, code = 'BadRequest'): GraphHttpError => new GraphHttpError(400, code, message);
