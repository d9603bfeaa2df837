/**
 * The package as n8n would install it: built with esbuild into a fresh folder that has no
 * node_modules beside it, it must run on its own (no runtime dependencies), declare only
 * n8n-workflow as a peer, and carry the notices of the code it bundles.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

describe('packaging', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cr-pkg-'));
  const dist = join(dir, 'dist');

  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', dist], { cwd: root, stdio: 'pipe' });
    copyFileSync(join(root, 'test', 'fixtures', 'feeds', 'kaltura.ics'), join(dir, 'kaltura.ics'));
  });

  test('package.json: no runtime dependencies, n8n-workflow the only peer, a bin, MIT', () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.peerDependencies)).toEqual(['n8n-workflow']);
    expect(pkg.bin['calendar-relay']).toBe('dist/cli.js');
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
