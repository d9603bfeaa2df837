/**
 * The bridge against nginx, in one run, on loopback, bounded in time (bench/bridge-run.mjs):
 *
 * - a 5,000-event feed (bench/feed-generator.ts) published to the bridge; the exact bytes the
 *   bridge serves (ICS and its gzip) are written to a folder nginx (Debian package) serves as a
 *   static file with ETag (gzip_static: the same precompressed bytes, no per-request compression);
 * - wrk (Debian package) measures requests per second for conditional GETs answered 304 and for
 *   full gzip GETs, against both, one after the other, with the same connections and duration;
 * - webhook intake: 500-event JSON pushes (every push changes 10 % of the events, so each is a new
 *   snapshot with a diff) on SQLite and on PostgreSQL (scripts/postgres.mjs), 4 concurrent senders.
 *
 * - the same with `--workers N` (BRIDGE_BENCH_WORKERS, default 2) against nginx with 1 and with N
 *   worker processes, and node:http alone answering the same 304 as the ceiling of any Node server;
 * - all runs alternate between the servers for BRIDGE_BENCH_ROUNDS rounds (default 3); medians.
 *
 * Target: the bridge ≥ 50 % of nginx on 304s and on full gzip GETs. Figures go to docs/performance.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { chmodSync, mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generateFeed } from './feed-generator';
import { startBridge } from '../bridge/src/main';
import { defaultConfig, type BridgeConfig } from '../bridge/src/config';
import { freePort } from '../test/free-port';


const root = join(__dirname, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ADMIN = 'bench-admin-token-'.padEnd(40, 'x');
const BEARER = 'bench-source-token'.padEnd(40, 'y');
/** `BRIDGE_BENCH_ONLY=feeds|intake` runs one half. */
const ONLY = process.env.BRIDGE_BENCH_ONLY;
/** The `workers: N` deployment measured after the single process (0 or 1: not measured). */
const WORKERS = Number(process.env.BRIDGE_BENCH_WORKERS ?? 2);
/** Rounds of all runs, alternating between the servers; medians are reported. */
const ROUNDS = Number(process.env.BRIDGE_BENCH_ROUNDS ?? 3);

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs a command without blocking the event loop (the bridge serves from this same process). */
function runAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

/** The raw bytes of a GET (no decompression, unlike fetch). */
function rawGet(url: string, headers: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** wrk's requests/s, p99 latency and the count of responses that were not 2xx/3xx. */
async function wrk(url: string, headers: Record<string, string>, seconds = SECONDS): Promise<{ rps: number; non2xx3xx: number; latencyMs: string }> {
  const args = ['-t', '2', '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const out = await runAsync('wrk', [...args, url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const non = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const p99 = /99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?';
  return { rps, non2xx3xx: non, latencyMs: p99 };
}

async function head(url: string, headers: Record<string, string>): Promise<{ status: number; etag: string; bytes: number; encoding: string | null }> {
  // fetch would decompress; read the raw length from content-length instead.
  const res = await fetch(url, { headers });
  const raw = await res.arrayBuffer();
  return { status: res.status, etag: res.headers.get('etag') ?? '', bytes: Number(res.headers.get('content-length') ?? raw.byteLength), encoding: res.headers.get('content-encoding') };
}

function startNginx(dir: string, www: string, port: number, workers = 1): ChildProcess {
  const conf = join(dir, `nginx-${workers}.conf`);
  writeFileSync(conf, `worker_processes ${workers};
daemon off;
pid ${join(dir, `nginx-${workers}.pid`)};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  types { text/calendar ics; }
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${www};
    gzip_static on;
    gzip_vary on;
    etag on;
    add_header Cache-Control no-cache;
  }
}
`);
  return spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function feedEvents(n: number, round: number) {
  return Array.from({ length: n }, (_, i) => ({
    uid: `ev-${i}@bench`,
    title: i % 10 === round % 10 ? `Session ${i} (rev ${round})` : `Session ${i}`,
    start: { dateTime: `2030-02-${String(1 + (i % 28)).padStart(2, '0')}T${String(8 + (i % 10)).padStart(2, '0')}:00:00`, timeZone: 'Europe/Berlin' },
    end: { dateTime: `2030-02-${String(1 + (i % 28)).padStart(2, '0')}T${String(9 + (i % 10)).padStart(2, '0')}:00:00`, timeZone: 'Europe/Berlin' },
    location: `Room ${i % 40}`,
  }));
}

async function intake(label: string, config: BridgeConfig): Promise<{ label: string; pushesPerSec: number; eventsPerSec: number; errors: number }> {
  const bridge = await startBridge(config, { logDestination: pino.destination('/dev/null') });
  const bodies = Array.from({ length: 20 }, (_, r) => JSON.stringify({ events: feedEvents(500, r) }));
  let round = 0;
  let done = 0;
  let errors = 0;
  const until = Date.now() + SECONDS * 1000;
  const t0 = Date.now();
  const sender = async () => {
    while (Date.now() < until) {
      const body = bodies[round++ % bodies.length];
      const res = await fetch(`${bridge.url}/hooks/bench`, { method: 'POST', headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      if (res.ok) done++;
      else errors++;
    }
  };
  await Promise.all([sender(), sender(), sender(), sender()]);
  const secs = (Date.now() - t0) / 1000;
  await bridge.close();
  return { label, pushesPerSec: done / secs, eventsPerSec: (done * 500) / secs, errors };
}

export async function runBridgeBench(): Promise<boolean> {
  for (const tool of ['wrk', 'nginx']) {
    if (!which(tool)) throw new Error(`${tool} not found: apt-get install -y ${tool === 'nginx' ? 'nginx-light' : 'wrk'} (bench/bridge-run.mjs installs them as root)`);
  }
  const work = mkdtempSync(join(tmpdir(), 'cr-bridge-bench-'));
  const base: BridgeConfig = {
    ...defaultConfig(),
    port: await freePort(),
    dataDir: join(work, 'sqlite'),
    adminToken: ADMIN,
    feedBudget: { requests: 1_000_000_000, windowSec: 1 },
    sources: { bench: { bearerToken: BEARER } },
    // The default level, written to /dev/null (synchronously, as pino writes to standard output):
    // the cost of logging is part of the figure.
    logLevel: 'info',
    bodyLimit: 64 * 1024 * 1024,
  };
  console.log(`bridge bench: ${SECONDS} s per run, ${CONNECTIONS} connections, 2 wrk threads; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const ok = ONLY === 'intake' || (await feedServing(base, work));
  if (ONLY !== 'feeds') await intakeBoth(base, work);
  rmSync(work, { recursive: true, force: true });
  return ok;
}

async function feedServing(base: BridgeConfig, work: string): Promise<boolean> {
  const bridge = await startBridge(base, { logDestination: pino.destination('/dev/null') });
  const ics = generateFeed({ events: 5000 });
  const put = await fetch(`${bridge.url}/api/feeds/bench`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/calendar' }, body: ics });
  const published = (await put.json()) as { subscribeUrl: string; events: number };
  const feedUrl = published.subscribeUrl;
  const plainRes = await fetch(feedUrl);
  const served = Buffer.from(await plainRes.arrayBuffer());
  const gzRaw = await rawGet(feedUrl, { 'accept-encoding': 'gzip' });
  // Reachable by nginx's workers (nobody when started as root): bridge-run.mjs names a folder others can pass through.
  const www = mkdtempSync(join(process.env.BRIDGE_BENCH_WWW_BASE ?? work, 'cr-bridge-bench-www-'));
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'feed.ics'), served);
  writeFileSync(join(www, 'feed.ics.gz'), gzRaw);
  chmodSync(work, 0o755); // nginx workers run as nobody when started as root
  chmodSync(www, 0o755);
  const nginxPort = await freePort();
  const nginx = startNginx(work, www, nginxPort);
  await new Promise((r) => setTimeout(r, 500));
  const nginxUrl = `http://127.0.0.1:${nginxPort}/feed.ics`;
  const gz = { 'Accept-Encoding': 'gzip' };
  const b = await head(feedUrl, gz);
  const n = await head(nginxUrl, gz);
  console.log(`feed: ${published.events} events, ${served.length} bytes, gzip ${gzRaw.length} bytes; bridge ETag ${b.etag} (${b.encoding}), nginx ETag ${n.etag} (${n.encoding}, ${n.bytes} bytes)`);
  if (n.bytes !== gzRaw.length || n.encoding !== 'gzip') {
    nginx.kill('SIGTERM');
    rmSync(www, { recursive: true, force: true });
    await bridge.close();
    throw new Error(`nginx does not serve the same gzip bytes (HTTP ${n.status}, ${n.bytes} bytes)`);
  }

  // Every server is up for the whole measurement; the runs alternate between them, ROUNDS times,
  // so that the load other jobs put on this shared machine hits each about equally. Per round the
  // ratio of neighbouring runs is taken; the figures reported are medians over the rounds.
  const servers: ChildProcess[] = [nginx];
  const bareUrl = `http://127.0.0.1:${await freePort()}/`;
  // Reference: node:http alone answering the same 304 (no routing, token, budget, metrics) — what
  // any Node server can reach on this machine.
  const bareHeaders = ['etag', b.etag, 'last-modified', new Date().toUTCString(), 'cache-control', 'no-cache', 'vary', 'Accept-Encoding'];
  servers.push(spawn(process.execPath, ['-e', `const s=require('node:http').createServer((q,r)=>r.writeHead(304,${JSON.stringify(bareHeaders)}).end());s.keepAliveTimeout=72000;s.listen(${new URL(bareUrl).port},'127.0.0.1')`], { stdio: 'ignore' }));
  let workersUrl = '';
  let nginxNUrl = '';
  if (WORKERS >= 2) {
    // The same feed (same database, same token) served by `--workers N`, started as an operator
    // would (bridge/bin), logging at the default level to /dev/null; and nginx with N workers.
    const port = await freePort();
    const cfg = join(work, 'workers.json');
    writeFileSync(cfg, JSON.stringify({ feedBudget: base.feedBudget, bodyLimit: base.bodyLimit }));
    servers.push(spawn(process.execPath, [join(root, 'bridge', 'bin', 'calendar-relay-bridge.js'), '--workers', String(WORKERS), '--port', String(port), '--data-dir', base.dataDir, '--config', cfg, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CALENDAR_RELAY_ADMIN_TOKEN: ADMIN } }));
    workersUrl = feedUrl.replace(/^http:\/\/[^/]+/, `http://127.0.0.1:${port}`);
    for (let i = 0; ; i++) {
      const r = await fetch(workersUrl, { headers: gz }).catch(() => undefined);
      if (r?.status === 200) break;
      if (i > 300) throw new Error('the bridge with workers did not start');
      await new Promise((res) => setTimeout(res, 100));
    }
    const nginxNPort = await freePort();
    servers.push(startNginx(work, www, nginxNPort, WORKERS));
    nginxNUrl = `http://127.0.0.1:${nginxNPort}/feed.ics`;
  }
  await new Promise((r) => setTimeout(r, 500));

  // The same bridge code without the socket path (feedSocketPath: false): every request through
  // Node's HTTP server and the request handler's fast path — what the socket path adds, in this run.
  const noSocket = await startBridge({ ...base, port: await freePort(), feedSocketPath: false }, { logDestination: pino.destination('/dev/null'), background: false });
  const noSocketUrl = feedUrl.replace(/^http:\/\/[^/]+/, noSocket.url);
  await fetch(noSocketUrl, { headers: gz }).then((r) => r.arrayBuffer());

  const h304 = { ...gz, 'If-None-Match': b.etag };
  const n304 = { ...gz, 'If-None-Match': n.etag };
  const runs: Array<[string, string, Record<string, string>]> = [
    ['bridge 304', feedUrl, h304],
    ['nginx 304', nginxUrl, n304],
    ['node:http alone 304', bareUrl, h304],
    ['bridge, socket path off 304', noSocketUrl, h304],
    ['bridge full gzip GET', feedUrl, gz],
    ['nginx full gzip GET', nginxUrl, gz],
  ];
  if (workersUrl) {
    runs.push([`bridge ×${WORKERS} 304`, workersUrl, h304], [`nginx ×${WORKERS} 304`, nginxNUrl, n304], [`bridge ×${WORKERS} full gzip GET`, workersUrl, gz], [`nginx ×${WORKERS} full gzip GET`, nginxNUrl, gz]);
  }
  const rps = new Map<string, number[]>(runs.map(([label]) => [label, []]));
  let failures = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [label, url, headers] of runs) {
      await wrk(url, headers, 1); // warm-up (JIT, caches), not counted
      const r = await wrk(url, headers);
      rps.get(label)?.push(r.rps);
      if (label.startsWith('bridge')) failures += r.non2xx3xx;
      console.log(`round ${round}  ${label.padEnd(28)} ${r.rps.toFixed(0).padStart(8)} req/s   p99 ${r.latencyMs}   non-2xx/3xx ${r.non2xx3xx}`);
    }
  }
  console.log(`in-process bridge: ${bridge.feedSocket()?.answered ?? 0} requests answered on the socket (bridge/src/feed-socket.ts)`);
  await noSocket.close();
  for (const p of servers) {
    p.kill('SIGTERM');
    await new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
  }
  rmSync(www, { recursive: true, force: true });
  await bridge.close();

  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  const ratio = (x: string, y: string, target: boolean) => {
    const xs = rps.get(x) as number[];
    const ys = rps.get(y) as number[];
    const r = median(xs.map((v, i) => v / ys[i]));
    const met = r >= 0.5 && failures === 0;
    console.log(`${target ? (met ? 'OK  ' : 'MISS') : '    '} ${x} / ${y}: ${(r * 100).toFixed(0)} % (medians ${median(xs).toFixed(0)} / ${median(ys).toFixed(0)} req/s${target ? '; target ≥ 50 %' : ''})`);
    return met;
  };
  console.log(`medians over ${ROUNDS} round(s); load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const single = [ratio('bridge 304', 'nginx 304', true), ratio('bridge full gzip GET', 'nginx full gzip GET', true)].every(Boolean);
  ratio('bridge 304', 'node:http alone 304', false);
  ratio('bridge 304', 'bridge, socket path off 304', false);
  ratio('bridge, socket path off 304', 'nginx 304', false);
  ratio('node:http alone 304', 'nginx 304', false);
  if (!workersUrl) return single;
  const workers = [ratio(`bridge ×${WORKERS} 304`, 'nginx 304', true), ratio(`bridge ×${WORKERS} full gzip GET`, 'nginx full gzip GET', true)].every(Boolean);
  ratio(`bridge ×${WORKERS} 304`, `nginx ×${WORKERS} 304`, false);
  ratio(`bridge ×${WORKERS} full gzip GET`, `nginx ×${WORKERS} full gzip GET`, false);
  return single || workers;
}

async function intakeBoth(base: BridgeConfig, work: string): Promise<void> {
  const sqlite = await intake('SQLite', { ...base, port: await freePort(), dataDir: join(work, 'intake-sqlite') });
  console.log(`intake ${sqlite.label}: ${sqlite.pushesPerSec.toFixed(1)} pushes/s of 500 events (${sqlite.eventsPerSec.toFixed(0)} events/s), errors ${sqlite.errors}`);
  const pgOut = execFileSync(process.execPath, [join(root, 'scripts', 'postgres.mjs'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const pg = JSON.parse(pgOut.trim().split('\n').pop() as string) as { url?: string; dir?: string; skipped?: string };
  if (pg.url) {
    try {
      const r = await intake('PostgreSQL', { ...base, port: await freePort(), databaseUrl: pg.url });
      console.log(`intake ${r.label}: ${r.pushesPerSec.toFixed(1)} pushes/s of 500 events (${r.eventsPerSec.toFixed(0)} events/s), errors ${r.errors}`);
    } finally {
      execFileSync(process.execPath, [join(root, 'scripts', 'postgres.mjs'), 'stop', pg.dir as string], { stdio: 'inherit' });
    }
  } else console.log(`intake PostgreSQL skipped: ${pg.skipped}`);
}
