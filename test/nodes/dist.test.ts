/**
 * The built package as n8n loads it: every node and credential listed in package.json's n8n
 * section exists in dist/, loads with n8n-workflow as the peer, exports the class named after
 * its file, and every `file:` icon (light and dark) and codex file it names is there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { n8n: { nodes: string[]; credentials: string[] } };

describe('dist as n8n loads it', () => {
  const out = mkdtempSync(join(tmpdir(), 'cr-dist-'));
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', join(out, 'dist')], { cwd: root, stdio: 'pipe' });
  });

  it('lists the four nodes and seven credentials (CalDAV included)', () => {
    expect(pkg.n8n.nodes.map((p) => basename(p, '.node.js'))).toEqual(['IcsTrigger', 'FeedExport', 'CalendarEvent', 'RoomSync']);
    expect(pkg.n8n.credentials.map((p) => basename(p, '.credentials.js'))).toContain('CalendarRelayCalDavApi');
    expect(pkg.n8n.credentials).toHaveLength(7);
  });

  it.each([...pkg.n8n.nodes, ...pkg.n8n.credentials])('%s loads, names its class after the file, and its icons exist', (rel) => {
    const file = join(out, rel);
    expect(existsSync(file)).toBe(true);
    const className = basename(rel).replace(/\.(node|credentials)\.js$/, '');
    // A child process resolving the peer n8n-workflow from the repo (as n8n provides it to community packages).
    const script = `const m = require(${JSON.stringify(file)}); const C = m[${JSON.stringify(className)}]; const o = new C(); const d = o.description ?? o;
      process.stdout.write(JSON.stringify({ name: d.name, icon: d.icon, codex: o.description ? true : false }))`;
    const info = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, NODE_PATH: join(root, 'node_modules') } })) as { name: string; icon: { light: string; dark: string } };
    expect(info.name).toMatch(/^[a-z][A-Za-z0-9]+$/);
    for (const icon of [info.icon.light, info.icon.dark]) expect(existsSync(join(dirname(file), icon.replace(/^file:/, '')))).toBe(true);
    if (rel.endsWith('.node.js')) {
      const codex = JSON.parse(readFileSync(file.replace(/\.js$/, '.json'), 'utf8'));
      expect(codex.node).toBe(`n8n-nodes-calendar-relay.${info.name}`);
      expect(codex.categories.length).toBeGreaterThan(0);
    }
  });
});
