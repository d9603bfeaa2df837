/**
 * The bridge's pino logger. Secrets never reach it: feed tokens live in URL paths, so request
 * URLs are logged with the token replaced and without query strings; headers (Authorization,
 * X-Relay-Signature) are not logged at all; errors are logged by message and code only.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export function redactUrl(url: string): string {
  const path = url.split(/[?#]/)[0];
  return path.replace(/^\/feeds\/[^/]+?(\.ics|\.json)?(\/|$)/, (_m, ext: string | undefined, slash: string) => `/feeds/<token>${ext ?? ''}${slash}`);
}

interface RequestLike {
  method?: string;
  url?: string;
  ip?: string;
  raw?: { method?: string; url?: string };
  socket?: { remoteAddress?: string };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: undefined,
    serializers: {
      req: (r: RequestLike) => ({ method: r.method ?? r.raw?.method, url: redactUrl(r.url ?? r.raw?.url ?? ''), remoteAddress: r.ip ?? r.socket?.remoteAddress }),
      res: (r: { statusCode?: number }) => ({ statusCode: r.statusCode }),
      err: (e: { message?: string; code?: string; statusCode?: number }) => ({ message: e.message, code: e.code, statusCode: e.statusCode }),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
