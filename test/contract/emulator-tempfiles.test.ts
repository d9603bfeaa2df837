/**
 * `calendar-relay emulator` writes a generated Google service-account private key (and, with
 * --https, its certificate) into a temp folder. That folder must be gone once the emulator stops:
 * after close() in-process (how the tests stop it), and after Ctrl-C / SIGTERM of the real command.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Emulator } from '../../emulator';
import { makeEmulatorCommand } from '../../cli/emulator-command';

const root = join(__dirname, '..', '..');
const keyFileOf = (out: string) => /Google service account key:\s+(\S+google-service-account\.json)/.exec(out)?.[1];

test('close() removes the folder with the private key (and the certificate of --https)', async () => {
  let out = '';
  let emu: Emulator | undefined;
  await makeEmulatorCommand({ onStarted: (e) => void (emu = e) })(['--port', '0', '--https'], { stdout: (t) => void (out += t), stderr: () => undefined, now: Date.now });
  const keyFile = keyFileOf(out);
  expect(keyFile).toBeDefined();
  const folder = dirname(keyFile!);
  expect(existsSync(keyFile!)).toBe(true);
  expect(existsSync(join(folder, 'emulator-cert.pem'))).toBe(true);
  await emu!.close();
  expect(existsSync(folder)).toBe(false);
});

describe('the real command', () => {
  const build = mkdtempSync(join(tmpdir(), 'cr-emu-build-'));
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', build, '--no-sourcemap'], { cwd: root, stdio: 'pipe' });
  });
  afterAll(() => rmSync(build, { recursive: true, force: true }));

  test.each(['SIGINT', 'SIGTERM'] as const)('%s stops it and removes the key folder', async (signal) => {
    const child = spawn(process.execPath, [join(build, 'cli.js'), 'emulator', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString('utf8');
          if (out.includes('Press Ctrl-C to stop.')) resolve();
        });
        child.on('exit', () => reject(new Error(`the emulator exited early:\n${out}`)));
      });
      const keyFile = keyFileOf(out);
      expect(keyFile).toBeDefined();
      expect(existsSync(keyFile!)).toBe(true);
      child.kill(signal);
      expect(await exited).toBe(0);
      expect(existsSync(dirname(keyFile!))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
