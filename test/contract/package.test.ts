/**
 * The package as n8n would install it: built with esbuild into a fresh folder that has no
 * node_modules beside it, it must run on its own (no runtime dependencies), declare only
 * n8n-workflow as a peer, and carry the notices of the code it bundles. And as a newcomer meets
 * it: `npm run pack` in a fresh, unbuilt clone builds first and ships dist/ without source maps,
 * and the `calendar-relay` command of an unbuilt clone says what to run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

describe('packaging', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cr-pkg-'));
  const dist = join(dir, 'dist');

  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', dist], { cwd: root, stdio: 'pipe' });
    copyFileSync(join(root, 'test', 'fixtures', 'feeds', 'kaltura.ics'), join(dir, 'kaltura.ics'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('package.json: no runtime dependencies, n8n-workflow the only peer, a bin, MIT', () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.peerDependencies)).toEqual(['n8n-workflow']);
    expect(pkg.bin['calendar-relay']).toBe('bin/calendar-relay.js');
    expect(pkg.license).toBe('MIT');
    expect(pkg.main).toBe('dist/index.js');
    expect(pkg.files).toContain('dist');
  });

  test('the bundled CLI runs from a folder without node_modules and keeps X-KALTURA-* verbatim', () => {
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    const parsed = execFileSync(process.execPath, [join(dist, 'cli.js'), 'parse', 'kaltura.ics'], { cwd: dir, encoding: 'utf8' });
    const out = JSON.parse(parsed);
    expect(out.events.length).toBeGreaterThan(0);
    const ics = execFileSync(process.execPath, [join(dist, 'cli.js'), 'export', '-'], { cwd: dir, input: parsed, encoding: 'utf8' });
    const unfold = (t: string) => t.replace(/\r?\n[ \t]/g, '').split(/\r?\n/);
    const xLines = (t: string) => unfold(t).filter((l) => l.startsWith('X-KALTURA-')).sort();
    const original = readFileSync(join(dir, 'kaltura.ics'), 'utf8');
    expect(xLines(original).length).toBeGreaterThan(5);
    expect(xLines(ics)).toEqual(xLines(original));
  });

  test('the library entry loads without node_modules and exposes the core API', () => {
    const script = `const m = require(${JSON.stringify(join(dist, 'index.js'))}); process.stdout.write(JSON.stringify([typeof m.parseIcs, typeof m.serializeIcs, typeof m.expandOccurrences, typeof m.planSync, typeof m.syncCalendars, typeof m.GoogleCalendarProvider, typeof m.GraphCalendarProvider]))`;
    const types = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' }));
    expect(types).toEqual(['function', 'function', 'function', 'function', 'function', 'function', 'function']);
  });

  test('THIRD-PARTY-NOTICES names every bundled package with its licence text', () => {
    const notices = readFileSync(join(dist, 'THIRD-PARTY-NOTICES.md'), 'utf8');
    for (const [name, licence] of [['ical.js', 'MPL-2.0'], ['rrule', 'BSD-3-Clause'], ['yaml', 'ISC']]) {
      expect(notices).toMatch(new RegExp(`## ${name.replace('.', '\\.')} \\S+ — ${licence}`));
    }
    expect(notices).toContain('Redistribution and use in source and binary forms'); // rrule's BSD text itself
  });
});

/** A fresh clone: the files git would check out (tracked and new, not ignored), no dist/, no node_modules. */
function freshClone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cr-clone-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(root, f))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(root, f), join(dir, f));
  }
  return dir;
}

describe('a fresh clone', () => {
  const clone = freshClone();
  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  test('has no dist/, and its calendar-relay command says to build first (exit 1), not "not found"', () => {
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    const r = spawnSync(process.execPath, [join(clone, pkg.bin['calendar-relay']), '--help'], { cwd: clone, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not built yet/);
    expect(r.stderr).toContain('npm run build');
  });

  test('`npm run pack` builds first: the tarball has dist/ and the bin, no source maps, no test data', () => {
    // The build needs the dev tools (esbuild, the bundled libraries): borrow this checkout's.
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const out = execFileSync('npm', ['run', '--silent', 'pack', '--', '--dry-run', '--json'], { cwd: clone, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [report] = JSON.parse(out.slice(out.search(/^\[$/m))) as { files: { path: string; size: number }[]; size: number }[];
    const paths = report.files.map((f) => f.path);
    for (const f of ['dist/cli.js', 'dist/index.js', 'dist/THIRD-PARTY-NOTICES.md', 'bin/calendar-relay.js', 'README.md', 'LICENSE', 'package.json', 'workflows/README.md']) expect(paths).toContain(f);
    expect(paths.filter((p) => p.endsWith('.map'))).toEqual([]);
    expect(paths.filter((p) => !/^(dist|bin|docs)\/|^examples\/[^/]+\.yaml$|^workflows\/[^/]+\.(json|md)$|^emulator\/(graph\/)?README\.md$|^(README\.md|LICENSE|package\.json)$/.test(p))).toEqual([]);
    expect(report.size).toBeLessThan(3_000_000); // packed (gzip) size; the maps alone were 3.9 MB unpacked
    // The packaged Markdown links only to what is in the package (a file, or a folder of it).
    const broken: string[] = [];
    for (const md of paths.filter((p) => p.endsWith('.md') && !p.startsWith('dist/'))) {
      const text = readFileSync(join(clone, md), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split('#')[0];
        if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const resolved = posix.normalize(posix.join(posix.dirname(md), target)).replace(/\/$/, '');
        if (!paths.some((p) => p === resolved || p.startsWith(`${resolved}/`))) broken.push(`${md}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('the built clone runs the command through the bin, with its arguments and exit code', () => {
    // dist/ was built by the pack step above.
    const ok = spawnSync(process.execPath, [join(clone, pkg.bin['calendar-relay']), 'parse', join(clone, 'test', 'fixtures', 'feeds', 'kaltura.ics')], { cwd: clone, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).events.length).toBeGreaterThan(0);
    const bad = spawnSync(process.execPath, [join(clone, pkg.bin['calendar-relay']), 'no-such-command'], { cwd: clone, encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});
