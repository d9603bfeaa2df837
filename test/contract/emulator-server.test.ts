/**
 * The emulator's server, fault layer, modelled limits and request log, driven through a toy API
 * module over real HTTP so the pipeline (claim → limits → faults → handler → log) is what's tested.
 */
import * as https from 'node:https';
import { EmulatorServer } from '../../emulator/server';
import { FaultController, type FaultSpec } from '../../emulator/faults';
import { RequestLog } from '../../emulator/log';
import { startEmulator } from '../../emulator';
import type { ApiModule, EmuRequest, EmuResponse, FaultDecision, RequestScope } from '../../emulator/types';

/** GET/POST /toy/{target}/{kind}; POST /toy/batch with a JSON array of paths. Optional ?sleep=ms. */
function toyModule(): ApiModule {
  return {
    name: 'toy',
    claim(req: EmuRequest): RequestScope | undefined {
      const m = /^\/toy\/([^/]+)(?:\/([^/]+))?$/.exec(req.path);
      if (!m) return undefined;
      if (m[1] === 'batch') return { api: 'graph', kind: 'batch' };
      return { api: 'graph', target: decodeURIComponent(m[1]).toLowerCase(), kind: m[2] ?? 'get', route: '/toy/{target}/{kind}' };
    },
    async handle(req, scope, ctx): Promise<EmuResponse> {
      if (scope.kind === 'batch') {
        const paths = JSON.parse(req.body.toString()) as string[];
        ctx.recordBatch(paths.length);
        const out = await Promise.all(paths.map((p) => ctx.dispatch({ method: 'GET', path: p, query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0) })));
        return { status: 200, body: out.map((r) => r.status) };
      }
      const sleep = Number(req.query.get('sleep') ?? 0);
      if (sleep) await new Promise((r) => setTimeout(r, sleep));
      if (scope.kind === 'crash') throw new Error('boom');
      return { status: 200, body: { target: scope.target, kind: scope.kind, at: ctx.now() } };
    },
    faultResponse(d: FaultDecision): EmuResponse {
      if (d.kind === 'throttle') return { status: d.status ?? 429, headers: d.retryAfter ? { 'Retry-After': d.retryAfter } : {}, body: { fault: 'throttle', limit: d.limit ?? null } };
      if (d.kind === 'error') return { status: d.status, body: { fault: 'error' } };
      if (d.kind === 'tokenExpired') return { status: 401, body: { fault: 'token' } };
      return { status: 403, body: { fault: d.kind } };
    },
    reset() {},
  };
}

let clock = 1_700_000_000_000;
const now = () => clock;

async function withServer(fn: (s: EmulatorServer, f: FaultController, log: RequestLog) => Promise<void>, opts: { https?: boolean } = {}) {
  const faults = new FaultController(now, {});
  const log = new RequestLog();
  const server = new EmulatorServer({ now, modules: [toyModule()], faults, log, https: opts.https });
  await server.start();
  try {
    await fn(server, faults, log);
  } finally {
    await server.close();
  }
}

const get = (s: EmulatorServer, p: string) => fetch(s.url + p);

describe('emulator server pipeline', () => {
  test('unclaimed paths get a 404 JSON answer and are logged', async () => {
    await withServer(async (s, _f, log) => {
      const r = await get(s, '/nowhere');
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: { code: number } }).error.code).toBe(404);
      expect(log.total).toBe(1);
      expect(log.recent()[0]).toMatchObject({ api: 'none', status: 404, path: '/nowhere' });
    });
  });

  test('claimed requests reach the handler with the emulator clock', async () => {
    await withServer(async (s) => {
      const r = await get(s, '/toy/Cal1/list');
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ target: 'cal1', kind: 'list', at: clock });
    });
  });

  test('an exact fault sequence is consumed in order, then requests pass', async () => {
    await withServer(async (s, f) => {
      const rule = f.script({ target: 'CAL1', kind: 'insert' }, [
        { kind: 'throttle', status: 429, retryAfter: '1.5' },
        { kind: 'throttle', status: 429, retryAfter: '1.5' },
        { kind: 'error', status: 503 },
        'ok',
        { kind: 'tokenExpired' },
      ]);
      const other = await get(s, '/toy/cal2/insert'); // different target: untouched
      expect(other.status).toBe(200);
      const statuses: number[] = [];
      const retryAfter: (string | null)[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await get(s, '/toy/cal1/insert');
        statuses.push(r.status);
        retryAfter.push(r.headers.get('retry-after'));
      }
      expect(statuses).toEqual([429, 429, 503, 200, 401, 200]);
      expect(retryAfter.slice(0, 2)).toEqual(['1.5', '1.5']);
      expect(rule.remaining()).toBe(0);
      expect(f.activeRules).toBe(0);
      expect(f.injected.map((i) => i.fault)).toEqual(['throttle', 'throttle', 'error', 'tokenExpired']);
    });
  });

  test('match on kind list, method and inBatch', async () => {
    await withServer(async (s, f) => {
      f.next({ kind: ['a', 'b'], inBatch: true }, { kind: 'error', status: 500 }, 2);
      expect((await get(s, '/toy/x/a')).status).toBe(200); // top-level: not matched
      const r = await fetch(s.url + '/toy/batch', { method: 'POST', body: JSON.stringify(['/toy/x/a', '/toy/x/c', '/toy/x/b', '/toy/x/a']) });
      expect(await r.json()).toEqual([500, 200, 500, 200]);
    });
  });

  test('chaos rules are reproducible for a given seed', async () => {
    const run = async () => {
      const out: number[] = [];
      await withServer(async (s, f) => {
        f.seed(42);
        f.chaos({ api: 'graph', probability: 0.3, faults: [{ kind: 'error', status: 502 }, { kind: 'throttle', status: 429 }] });
        for (let i = 0; i < 40; i++) out.push((await get(s, `/toy/t${i % 3}/op`)).status);
      });
      return out;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    const faulted = a.filter((x) => x !== 200).length;
    expect(faulted).toBeGreaterThan(3);
    expect(faulted).toBeLessThan(25);
    expect(new Set(a.filter((x) => x !== 200))).toEqual(new Set([502, 429]));
  });

  test('chaos "times" bounds the number of injected faults', async () => {
    await withServer(async (s, f) => {
      f.chaos({ probability: 1, faults: [{ kind: 'error', status: 504 }], times: 2 });
      const st = [];
      for (let i = 0; i < 4; i++) st.push((await get(s, '/toy/a/b')).status);
      expect(st).toEqual([504, 504, 200, 200]);
    });
  });

  test('a reset fault destroys the connection without an answer', async () => {
    await withServer(async (s, f, log) => {
      f.next({ target: 'x' }, { kind: 'reset' });
      await expect(get(s, '/toy/x/get')).rejects.toThrow();
      expect((await get(s, '/toy/x/get')).status).toBe(200);
      expect(log.recent({ fault: 'reset' })).toHaveLength(1);
    });
  });

  test('a delay fault holds the request, then serves it', async () => {
    await withServer(async (s, f) => {
      f.next({ target: 'x' }, { kind: 'delay', ms: 150 });
      const t0 = Date.now();
      const r = await get(s, '/toy/x/get');
      expect(r.status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    });
  });

  test('handler exceptions become 500 and are kept in internalErrors', async () => {
    await withServer(async (s) => {
      const r = await get(s, '/toy/x/crash');
      expect(r.status).toBe(500);
      expect(s.internalErrors.map((e) => e.message)).toEqual(['boom']);
    });
  });

  test('sliding-window limit per target throttles and recovers as the clock moves', async () => {
    await withServer(async (s, f) => {
      f.setLimits('graph', { windowMs: 60_000, maxRequests: 3 });
      const st: number[] = [];
      for (let i = 0; i < 4; i++) st.push((await get(s, '/toy/a/x')).status);
      expect(st).toEqual([200, 200, 200, 429]);
      const r = await get(s, '/toy/a/x');
      expect(await r.json()).toEqual({ fault: 'throttle', limit: 'rate' });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await get(s, '/toy/b/x')).status).toBe(200); // other target has its own window
      clock += 60_001;
      expect((await get(s, '/toy/a/x')).status).toBe(200);
      f.limitsEnabled = false;
      for (let i = 0; i < 5; i++) expect((await get(s, '/toy/a/x')).status).toBe(200);
    });
  });

  test('concurrency limit per target: the 5th simultaneous request is throttled', async () => {
    await withServer(async (s, f, log) => {
      f.setLimits('graph', { maxConcurrent: 4 });
      const st = await Promise.all(Array.from({ length: 6 }, () => get(s, '/toy/room1/x?sleep=200').then((r) => r.status)));
      expect(st.filter((x) => x === 200)).toHaveLength(4);
      expect(st.filter((x) => x === 429)).toHaveLength(2);
      // The log sees arrivals (the client's concurrency); the limit rejects the surplus quickly.
      expect(log.maxConcurrency['room1']).toBeGreaterThanOrEqual(5);
      expect(log.count({ fault: 'limit:concurrency' })).toBe(2);
    });
  });

  test('log counters: by route, target, kind; batch sizes; reset', async () => {
    await withServer(async (s, _f, log) => {
      await get(s, '/toy/a/list');
      await get(s, '/toy/a/list');
      await get(s, '/toy/b/insert');
      await fetch(s.url + '/toy/batch', { method: 'POST', body: JSON.stringify(['/toy/c/list', '/toy/c/list', '/toy/c/list']) });
      expect(log.total).toBe(7);
      expect(log.byRoute['GET /toy/{target}/{kind} 200']).toBe(6);
      expect(log.byRoute['POST graph:batch 200']).toBe(1);
      expect(log.byTarget).toEqual({ a: 2, b: 1, c: 3 });
      expect(log.byKind['graph:list']).toBe(5);
      expect(log.batchSizes).toEqual([3]);
      expect(log.batchCount).toBe(1);
      expect(log.count({ inBatch: true })).toBe(3);
      log.reset();
      expect(log.total).toBe(0);
      expect(log.recent()).toEqual([]);
    });
  });

  test('https mode serves TLS with a generated certificate valid for 127.0.0.1', async () => {
    await withServer(async (s) => {
      expect(s.url.startsWith('https://127.0.0.1:')).toBe(true);
      const body = await new Promise<string>((resolve, reject) => {
        https.get(s.url + '/toy/a/get', { ca: s.tls!.certPem }, (res) => {
          let d = '';
          res.on('data', (c) => (d += c));
          res.on('end', () => resolve(d));
        }).on('error', reject);
      });
      expect(JSON.parse(body).target).toBe('a');
    }, { https: true });
  });
});

describe('startEmulator', () => {
  test('starts on a random port, moves its clock, and closes', async () => {
    const emu = await startEmulator({ now: () => 1000 });
    try {
      expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(emu.clock.now()).toBe(1000);
      emu.clock.advance(500);
      expect(emu.clock.now()).toBe(1500);
      const r = await fetch(emu.url + '/nothing-here');
      expect(r.status).toBe(404);
      expect(emu.log.total).toBe(1);
      emu.reset();
      expect(emu.log.total).toBe(0);
    } finally {
      await emu.close();
    }
  });

  test('default limits model the real quotas and can be switched off', async () => {
    const emu = await startEmulator({ limits: false });
    try {
      expect(emu.faults.getLimits('google')).toEqual({ windowMs: 60_000, maxRequests: 600 });
      expect(emu.faults.getLimits('graph')).toEqual({ windowMs: 600_000, maxRequests: 10_000, maxConcurrent: 4 });
      expect(emu.faults.limitsEnabled).toBe(false);
    } finally {
      await emu.close();
    }
  });
});

test('FaultSpec type covers every fault kind the brief names', () => {
  const kinds: FaultSpec['kind'][] = ['throttle', 'quota', 'error', 'reset', 'delay', 'tokenExpired'];
  const f = new FaultController(now);
  for (const k of kinds) f.next({}, k === 'error' ? { kind: 'error', status: 500 } : k === 'delay' ? { kind: 'delay', ms: 1 } : ({ kind: k } as FaultSpec));
  expect(f.activeRules).toBe(kinds.length);
  expect(() => f.chaos({ probability: 2, faults: [{ kind: 'quota' }] })).toThrow(RangeError);
});
