/**
 * scripts/postgres.mjs under a CI runner's conditions: TMPDIR is a private `mktemp -d` folder
 * (mode 0700, owned by root). As root the cluster belongs to `postgres`, which cannot enter such a
 * folder; the script must put the cluster where `postgres` can reach it (CI failed on this once).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const root = join(__dirname, '..', '..');
const script = join(root, 'scripts', 'postgres.mjs');

function traversable(dir: string): boolean {
  const code = `import(${JSON.stringify(script)}).then((m) => process.stdout.write(String(m.traversableByOthers(${JSON.stringify(dir)}))))`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }) === 'true';
}

describe('scripts/postgres.mjs', () => {
  const made: string[] = [];
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('tells a folder closed to other users (0700) from an open one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-pg-mode-'));
    made.push(dir);
    chmodSync(dir, 0o700);
    expect(traversable(dir)).toBe(false);
    expect(traversable(join(dir, 'inside'))).toBe(false);
    chmodSync(dir, 0o755);
    // Open only when every ancestor is open as well (the runner's own TMPDIR may not be).
    const ancestorsOpen = traversable(tmpdir());
    expect(traversable(dir)).toBe(ancestorsOpen);
    expect(traversable('/')).toBe((statSync('/').mode & 0o001) !== 0);
  });

  const asRoot = process.getuid?.() === 0;
  (asRoot ? it : it.skip)('as root, starts a cluster when TMPDIR is a private 0700 folder, and it answers queries', async () => {
    const privateTmp = mkdtempSync(join(tmpdir(), 'cr-private-tmp-'));
    made.push(privateTmp);
    chmodSync(privateTmp, 0o700);
    const out = execFileSync(process.execPath, [script, 'start'], { encoding: 'utf8', env: { ...process.env, TMPDIR: privateTmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    const r = JSON.parse(out.trim().split('\n').pop() as string) as { url?: string; dir?: string; skipped?: string };
    if (r.skipped) {
      if (process.env.CI) throw new Error(`PostgreSQL is required on CI: ${r.skipped}`);
      return;
    }
    try {
      expect(r.dir && r.dir.startsWith(privateTmp)).toBe(false);
      const c = new Client({ connectionString: r.url });
      await c.connect();
      const q = await c.query('SELECT 41 + 1 AS n');
      await c.end();
      expect(q.rows[0].n).toBe(42);
    } finally {
      execFileSync(process.execPath, [script, 'stop', r.dir as string]);
    }
  });
});
