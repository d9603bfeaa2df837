/**
 * bridge/Dockerfile without a Docker engine (none runs on this machine or on CI): the recipe is
 * read, every file its build stage copies must exist, and its runtime stage is assembled in a
 * folder exactly as the Dockerfile lays it out — only the paths it copies from the build stage and
 * the bridge's production dependencies (what `npm prune --omit=dev` keeps) — and started with its
 * CMD and ENV: it must serve, accept a feed, and stop gracefully on SIGTERM (`docker stop`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port';
import { httpRequest, waitFor } from './helpers';

const root = join(__dirname, '..', '..');

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

/** Dockerfile → stages (continuation lines joined, comments dropped). */
function readDockerfile(): Stage[] {
  const text = readFileSync(join(root, 'bridge', 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const stages: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1], name: from[2] ?? `stage${stages.length}`, lines: [] });
    else stages[stages.length - 1].lines.push(line);
  }
  return stages;
}

function copies(stage: Stage): { from?: string; sources: string[]; dest: string }[] {
  return stage.lines
    .filter((l) => /^COPY\s/i.test(l))
    .map((l) => {
      const words = l.split(/\s+/).slice(1);
      const flag = words.find((w) => w.startsWith('--from='));
      const rest = words.filter((w) => !w.startsWith('--'));
      return { from: flag?.slice('--from='.length), sources: rest.slice(0, -1), dest: rest[rest.length - 1] };
    });
}

/** The lock keys the bridge's production dependencies pull in (scripts/lock.mjs productionClosure). */
function productionClosure(): string[] {
  const deps = Object.keys((JSON.parse(readFileSync(join(root, 'bridge', 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  const code = `import(${JSON.stringify(join(root, 'scripts', 'lock.mjs'))}).then((m) => process.stdout.write(JSON.stringify(m.productionClosure(
    JSON.parse(require('node:fs').readFileSync(${JSON.stringify(join(root, 'package-lock.json'))}, 'utf8')).packages, 'bridge', ${JSON.stringify(deps)}))))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' })) as string[];
}

describe('bridge/Dockerfile', () => {
  const stages = readDockerfile();
  const build = stages[0];
  const runtime = stages[stages.length - 1];

  test('two stages on a maintained Node image; the runtime runs as an unprivileged user', () => {
    expect(stages.length).toBe(2);
    for (const s of stages) expect(Number(/^node:(\d+)/.exec(s.from)?.[1])).toBeGreaterThanOrEqual(22);
    expect(runtime.lines).toContain('USER node');
    expect(runtime.lines.find((l) => l.startsWith('CMD'))).toBeDefined();
  });

  test('every file the build stage copies from the repository exists', () => {
    const sources = copies(build).filter((c) => !c.from).flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) expect(`${s}: ${existsSync(join(root, s))}`).toBe(`${s}: true`);
  });

  test('the runtime stage, assembled as the Dockerfile lays it out, serves a feed and stops gracefully', async () => {
    // What the build stage's `RUN node bridge/build.js` produces.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(join(root, 'bridge', 'build.js')).buildBridge();
    const app = mkdtempSync(join(tmpdir(), 'cr-container-'));
    const data = join(app, 'data');
    mkdirSync(data);
    try {
      for (const c of copies(runtime)) {
        expect(c.from).toBe(build.name);
        const dest = c.dest.replace(/^\/app\/?/, '');
        for (const src of c.sources) {
          const rel = src.replace(/^\/app\//, '');
          if (rel === 'node_modules') {
            for (const key of productionClosure()) cpSync(join(root, key), join(app, key), { recursive: true, dereference: true });
            continue;
          }
          const target = c.sources.length > 1 || dest.endsWith('/') ? join(app, dest, rel.split('/').pop() as string) : join(app, dest);
          cpSync(join(root, rel), target, { recursive: true });
        }
      }
      expect(existsSync(join(app, 'bridge', 'src'))).toBe(false); // the image carries the bundle, not the sources
      expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
      expect(existsSync(join(app, 'node_modules', 'n8n-workflow'))).toBe(false);

      const env: Record<string, string> = {};
      for (const l of runtime.lines.filter((x) => x.startsWith('ENV '))) {
        for (const m of l.slice(4).matchAll(/(\w+)=(\S+)/g)) env[m[1]] = m[2];
      }
      expect(env.CALENDAR_RELAY_BRIDGE_DATA_DIR).toBe('/data');
      const port = await freePort();
      const cmd = JSON.parse(runtime.lines.find((l) => l.startsWith('CMD'))!.slice(3).trim()) as string[];
      expect(cmd[0]).toBe('node');
      const admin = 'c'.repeat(40);
      const child = spawn(process.execPath, cmd.slice(1), {
        cwd: app,
        stdio: ['ignore', 'pipe', 'pipe'],
        // The image's ENV, with the port, the data folder and the host moved onto this machine's loopback.
        env: { PATH: process.env.PATH ?? '', ...env, CALENDAR_RELAY_BRIDGE_HOST: '127.0.0.1', CALENDAR_RELAY_BRIDGE_PORT: String(port), CALENDAR_RELAY_BRIDGE_DATA_DIR: data, CALENDAR_RELAY_ADMIN_TOKEN: admin, NODE_PATH: '' },
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitFor(
          async () => {
            if (child.exitCode !== null) throw new Error(`the assembled image exited with code ${child.exitCode}: ${output}`);
            return (await httpRequest(base, { method: 'GET', url: '/readyz' }).catch(() => undefined))?.statusCode === 200;
          },
          30_000,
          'the assembled image to answer /readyz',
        );
        const put = await httpRequest(base, { method: 'PUT', url: '/api/feeds/lobby', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify({ events: [{ uid: 'box@demo', title: 'In a box', start: { date: '2031-02-03' }, end: { date: '2031-02-04' } }] }) });
        expect(put.statusCode).toBe(200);
        const feed = await httpRequest(base, { method: 'GET', url: new URL(put.json().subscribeUrl).pathname });
        expect(feed.body).toContain('UID:box@demo');
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      }
      expect(`${child.exitCode} ${output.includes('"level":50') ? 'error logged' : ''}`.trim()).toBe('0');
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 120_000);
});
