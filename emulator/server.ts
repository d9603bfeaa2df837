/**
 * The emulator's HTTP(S) server. Each request is parsed once (method, path, query, lower-cased
 * headers, body), then runs the pipeline: claim by an API module → modelled limits → scripted
 * faults → global latency → the module's handler (or its envelope for the fault) → request log.
 * Batch handlers re-enter the same pipeline per part through `ctx.dispatch`.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ApiModule, EmuContext, EmuRequest, EmuResponse, FaultDecision, RequestScope } from './types';
import type { FaultController } from './faults';
import type { RequestLog } from './log';
import { createSelfSignedCert, type SelfSignedCert } from './tls';

/** Thrown through the pipeline when the fault layer wants the connection dropped. */
export class ConnectionResetSignal extends Error {
  constructor() {
    super('emulator: connection reset injected');
    this.name = 'ConnectionResetSignal';
  }
}

export interface ServerOptions {
  port?: number;
  host?: string;
  https?: boolean;
  latencyMs?: number;
  now: () => number;
  modules: ApiModule[];
  faults: FaultController;
  log: RequestLog;
  /** Largest accepted request body; bigger bodies get 413. */
  maxBodyBytes?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class EmulatorServer {
  /** Added to every request before it is answered (benchmarks of a "remote" API). */
  latencyMs: number;
  /** Exceptions thrown by module handlers (answered as 500): a test can assert this stays empty. */
  readonly internalErrors: Error[] = [];
  url = '';
  tls?: SelfSignedCert;

  private server?: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(private readonly opts: ServerOptions) {
    this.latencyMs = opts.latencyMs ?? 0;
  }

  async start(): Promise<string> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.serve(req, res);
    if (this.opts.https) {
      this.tls = createSelfSignedCert();
      this.server = https.createServer({ key: this.tls.keyPem, cert: this.tls.certPem }, handler);
    } else {
      this.server = http.createServer(handler);
    }
    this.server.keepAliveTimeout = 5_000;
    this.server.on(this.opts.https ? 'secureConnection' : 'connection', (s: import('node:net').Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port ?? 0, host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    this.url = `${this.opts.https ? 'https' : 'http'}://${shownHost}:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }

  /** The full pipeline for one request (top-level or batch part). */
  async dispatch(req: EmuRequest): Promise<EmuResponse> {
    const { modules, faults, log, now } = this.opts;
    const started = Date.now();
    const at = now();
    let module: ApiModule | undefined;
    let scope: RequestScope | undefined;
    for (const m of modules) {
      scope = m.claim(req);
      if (scope) {
        module = m;
        break;
      }
    }
    const seq = log.begin(scope?.target);
    let status = 0;
    let faultName: string | undefined;
    try {
      let res: EmuResponse;
      if (!module || !scope) {
        res = { status: 404, body: { error: { code: 404, message: `The emulator serves no API at ${req.method} ${req.path}` } } };
      } else {
        let decision: FaultDecision = faults.checkLimits(scope, log.inFlightFor(scope.target ?? ''));
        if (decision.kind === 'none') decision = faults.decide(scope, { method: req.method, inBatch: !!req.inBatch });
        if (decision.kind === 'delay') {
          await sleep(decision.ms);
          decision = { kind: 'none' };
        }
        if (this.latencyMs > 0) await sleep(this.latencyMs);
        if (decision.kind === 'reset') {
          faultName = 'reset';
          throw new ConnectionResetSignal();
        }
        if (decision.kind !== 'none') {
          faultName = decision.kind === 'throttle' && decision.limit ? `limit:${decision.limit}` : decision.kind;
          res = module.faultResponse(decision, scope);
        } else {
          res = await module.handle(req, scope, this.context());
        }
      }
      status = res.status;
      return res;
    } catch (e) {
      if (e instanceof ConnectionResetSignal) throw e;
      const err = e instanceof Error ? e : new Error(String(e));
      this.internalErrors.push(err);
      status = 500;
      faultName = 'internal';
      return { status: 500, body: { error: { code: 500, message: `emulator bug: ${err.message}` } } };
    } finally {
      log.end({
        seq, at, method: req.method, path: req.path, query: req.query.toString(),
        api: scope?.api ?? 'none', target: scope?.target, kind: scope?.kind ?? 'unclaimed',
        route: scope?.route ?? (scope ? `${scope.api}:${scope.kind}` : req.path),
        status, inBatch: !!req.inBatch, durationMs: Date.now() - started, fault: faultName,
      });
    }
  }

  private context(): EmuContext {
    return {
      now: this.opts.now,
      dispatch: (inner) => this.dispatch({ ...inner, inBatch: true }),
      baseUrl: this.url,
      recordBatch: (parts) => this.opts.log.recordBatch(parts),
    };
  }

  private async serve(raw: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(raw, this.opts.maxBodyBytes ?? 64 * 1024 * 1024);
    } catch {
      send(res, { status: 413, body: { error: { code: 413, message: 'Request body too large' } } });
      return;
    }
    const url = new URL(raw.url ?? '/', 'http://emulator');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    const req: EmuRequest = { method: (raw.method ?? 'GET').toUpperCase(), path: url.pathname, query: url.searchParams, headers, body };
    try {
      send(res, await this.dispatch(req));
    } catch (e) {
      // Injected reset (or a failure while writing): drop the connection without an answer.
      raw.socket.destroy();
      if (!(e instanceof ConnectionResetSignal)) this.internalErrors.push(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Writes an EmuResponse: objects as JSON, strings/Buffers verbatim. */
function send(res: http.ServerResponse, r: EmuResponse): void {
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  let payload: Buffer | undefined;
  if (r.body === undefined || r.body === null || r.status === 204 || r.status === 304) {
    payload = undefined;
  } else if (Buffer.isBuffer(r.body)) {
    payload = r.body;
  } else if (typeof r.body === 'string') {
    payload = Buffer.from(r.body, 'utf8');
    if (!has('content-type')) headers['Content-Type'] = 'text/plain; charset=UTF-8';
  } else {
    payload = Buffer.from(JSON.stringify(r.body), 'utf8');
    if (!has('content-type')) headers['Content-Type'] = 'application/json; charset=UTF-8';
  }
  if (r.status !== 204 && r.status !== 304) headers['Content-Length'] = String(payload?.length ?? 0);
  res.writeHead(r.status, headers);
  res.end(payload);
}
