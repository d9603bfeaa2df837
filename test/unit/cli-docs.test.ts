/**
 * The CLI's help and docs/cli.md list every option each command accepts (the accepted set comes
 * from the parser itself: an unknown option's message names them), and the markdown that ships in
 * the npm package (package.json "files") links only to files that ship with it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../cli';
import { INPUT_PRESETS } from '../../core/input';

const ROOT = path.resolve(__dirname, '..', '..');

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), now: () => 0 });
  return { code, stdout, stderr };
}

/** The options `command` accepts, as its own parser reports them. */
async function acceptedOptions(command: string): Promise<string[]> {
  const r = await run([command, '--zz-not-an-option']);
  expect(r.code).toBe(2);
  const m = /unknown option --zz-not-an-option \(options here: ([^)]*)\)/.exec(r.stderr);
  if (!m) throw new Error(`no option list in: ${r.stderr}`);
  return m[1].split(', ');
}

/** The lines of a usage text or code block that belong to `command` (its line and its continuation lines). */
function usageOf(text: string, command: string, prefix: RegExp): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    const m = prefix.exec(line);
    if (m) inside = m[1] === command;
    else if (inside && !/^\s{4,}\S/.test(line)) inside = false;
    if (inside) out.push(line);
  }
  return out.join('\n');
}

const COMMANDS = ['parse', 'expand', 'export', 'sync', 'emulator', 'demo', 'publish'];

describe('every option is documented', () => {
  let help = '';
  let doc = '';
  beforeAll(async () => {
    help = (await run(['--help'])).stdout;
    doc = fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8');
  });

  test.each(COMMANDS)('%s: --help and docs/cli.md name every option it accepts', async (command) => {
    const options = await acceptedOptions(command);
    expect(options.length).toBeGreaterThan(0);
    const inHelp = usageOf(help, command, /^ {2}(\w+)\s/);
    const inDoc = usageOf(doc, command, /^calendar-relay (\w+)\s/);
    expect(inHelp).not.toBe('');
    expect(inDoc).not.toBe('');
    expect(options.filter((o) => !new RegExp(`${o}\\b`).test(inHelp))).toEqual([]);
    expect(options.filter((o) => !new RegExp(`${o}\\b`).test(inDoc))).toEqual([]);
  });

  test('every input preset is listed in --help and docs/cli.md', async () => {
    for (const p of INPUT_PRESETS) {
      expect(usageOf(help, 'parse', /^ {2}(\w+)\s/)).toMatch(new RegExp(`[ |]${p}[ |\\]]`));
      expect(usageOf(doc, 'parse', /^calendar-relay (\w+)\s/)).toMatch(new RegExp(`[ |]${p}[ |\\]]`));
    }
  });
});

describe('packaged markdown links only to packaged files', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  const shipped = (rel: string) => pkg.files.some((f) => rel === f || rel.startsWith(f.replace(/\/$/, '') + '/'));
  const markdown = pkg.files.flatMap((f) => {
    const p = path.join(ROOT, f);
    if (!fs.existsSync(p)) return [];
    if (fs.statSync(p).isDirectory()) return fs.readdirSync(p, { recursive: true }).map(String).filter((n) => n.endsWith('.md')).map((n) => path.join(f, n));
    return f.endsWith('.md') ? [f] : [];
  });

  test('there is packaged markdown', () => {
    expect(markdown).toEqual(expect.arrayContaining(['README.md', path.join('docs', 'cli.md')]));
  });

  test.each(markdown)('%s', (file) => {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const bad: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].split('#')[0];
      if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // anchors, http(s), mailto
      const rel = path.relative(ROOT, path.resolve(ROOT, path.dirname(file), target)).split(path.sep).join('/');
      if (rel.startsWith('..') || !shipped(rel) || !fs.existsSync(path.join(ROOT, rel))) bad.push(`${target} (→ ${rel})`);
    }
    expect(bad).toEqual([]);
  });
});
