/**
 * The repository stands on its own: a clone with nothing beside it runs the whole suite. The test
 * data lives in test/fixtures/ (with each source's licence), nothing reads or links a folder
 * outside the repository, and every relative link in the Markdown files resolves inside it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORPUS_DIR, RRULE_VECTORS_DIR } from '../fixtures-path';

const ROOT = path.join(__dirname, '..', '..');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.cache', 'coverage', 'out']);
const VENDORED = [CORPUS_DIR, RRULE_VECTORS_DIR];
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|json|md|ya?ml|sh|txt)$|^(\.npmrc|run|\.gitignore)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) {
      if (!SKIP_DIRS.has(d.name) && !VENDORED.includes(p)) walk(p, out);
    } else if (TEXT.test(d.name)) out.push(p);
  }
  return out;
}

const files = walk(ROOT);
const rel = (p: string) => path.relative(ROOT, p).split(path.sep).join('/');
// Built from pieces so that this file does not match itself.
const SIBLING = 'shar' + 'ed';
/** one or more `../` then the sibling's name (as in a path or a Markdown link) */
const DOTTED = new RegExp(`((?:\\.\\./)+)${SIBLING}\\b`, 'g');
/** path segments: `path.join(__dirname, '..', '..', <the sibling's name>, …)` */
const SEGMENTS = new RegExp(`((?:['"]\\.\\.['"]\\s*,\\s*)+)['"]${SIBLING}['"]`, 'g');
const NAMED = new RegExp(`/work/${SIBLING}\\b|\\b${SIBLING}/(corpus|rrule-vectors|seeds)\\b`);

/**
 * Does this line point at a `shared` folder outside the repository (the sibling folder the
 * project's test data once came from)? A relative one counts from the file's folder and is fine
 * when it lands on a folder of the repository that exists (nodes/shared/ is one).
 */
function pointsOutside(file: string, line: string, exists: (p: string) => boolean = fs.existsSync): boolean {
  if (NAMED.test(line)) return true;
  const outside = (ups: number) => {
    const target = path.resolve(path.dirname(file), ...Array<string>(ups).fill('..'), SIBLING);
    return !target.startsWith(ROOT + path.sep) || !exists(target);
  };
  for (const m of line.matchAll(DOTTED)) if (outside(m[1].length / 3)) return true;
  for (const m of line.matchAll(SEGMENTS)) if (outside((m[1].match(/\.\./g) ?? []).length)) return true;
  return false;
}

describe('the repository needs nothing beside it', () => {
  test('the walk sees the sources, tests, docs and CI script', () => {
    for (const f of ['README.md', 'package.json', 'test/unit/corpus.test.ts', 'docs/development.md', '.ci/run', '.npmrc']) expect(files.map(rel)).toContain(f);
  });

  test('the check tells a sibling folder from a folder of the repository', () => {
    const at = (f: string) => path.join(ROOT, f);
    const nodesShared = path.join(ROOT, 'nodes', SIBLING); // the nodes' common code: a folder of the repository
    const exists = (p: string) => p === nodesShared;
    expect(pointsOutside(at('README.md'), `see ../${SIBLING}/ARCHITECTURE.md`, exists)).toBe(true);
    expect(pointsOutside(at('test/unit/x.test.ts'), `path.join(__dirname, '../../../${SIBLING}/corpus')`, exists)).toBe(true);
    expect(pointsOutside(at('test/unit/x.test.ts'), `path.resolve(__dirname, '..', '..', '..', '${SIBLING}', 'corpus')`, exists)).toBe(true);
    expect(pointsOutside(at('test/x.ts'), `path.resolve(__dirname, '..', '..', "${SIBLING}", 'corpus')`, exists)).toBe(true);
    expect(pointsOutside(at('docs/x.md'), `in \`../${SIBLING}/rrule-vectors\``, exists)).toBe(true);
    expect(pointsOutside(at('docs/x.md'), `the ${SIBLING} corpus`, exists)).toBe(false);
    expect(pointsOutside(at('nodes/IcsTrigger/poll.ts'), `import { toNodeError } from '../${SIBLING}/errors';`, exists)).toBe(false);
  });

  test('no file reads or mentions a folder outside the repository', () => {
    const offenders = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n')
      .map((line, i) => (pointsOutside(f, line) ? `${rel(f)}:${i + 1}: ${line.trim()}` : ''))
      .filter(Boolean));
    expect(offenders).toEqual([]);
  });

  test('every relative Markdown link resolves to a file inside the repository', () => {
    const broken: string[] = [];
    for (const f of files.filter((p) => p.endsWith('.md'))) {
      const text = fs.readFileSync(f, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split('#')[0];
        if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // anchors, http(s):, mailto:
        const abs = path.resolve(path.dirname(f), decodeURI(target));
        if (abs !== ROOT && !abs.startsWith(ROOT + path.sep)) broken.push(`${rel(f)}: ${m[1]} leaves the repository`);
        else if (!fs.existsSync(abs)) broken.push(`${rel(f)}: ${m[1]} does not exist`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('vendored test data', () => {
  const manifest = fs.readFileSync(path.join(CORPUS_DIR, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));

  test('the corpus holds exactly the 300 files of MANIFEST.tsv, byte sizes as listed', () => {
    const listed = manifest.map((r) => r[0]).sort();
    const onDisk = walkIcs(CORPUS_DIR).map((p) => path.relative(CORPUS_DIR, p).split(path.sep).join('/')).sort();
    expect(listed).toHaveLength(300);
    expect(onDisk).toEqual(listed);
    // The notes column starts with the size in bytes: CRLF or re-encoding on checkout would change it.
    const sizeMismatches = manifest.filter((r) => {
      const size = /^(\d+)B;/.exec(r[10] ?? '');
      return size && fs.statSync(path.join(CORPUS_DIR, r[0])).size !== Number(size[1]);
    }).map((r) => r[0]);
    expect(sizeMismatches).toEqual([]);
  });

  test('every corpus source folder carries its licence text, and git keeps the bytes as they are', () => {
    const dirs = [...new Set(manifest.map((r) => r[0].split('/')[0]))];
    expect(dirs.length).toBe(10);
    for (const d of dirs) expect(fs.readdirSync(path.join(CORPUS_DIR, d)).filter((n) => /^LICEN[CS]E/i.test(n)).length).toBeGreaterThan(0);
    for (const dir of VENDORED) expect(fs.readFileSync(path.join(dir, '.gitattributes'), 'utf8')).toMatch(/^\* -text/m);
  });

  test('the RRULE vectors carry the licences of their four source repositories', () => {
    expect(fs.readdirSync(path.join(RRULE_VECTORS_DIR, 'licenses')).sort()).toEqual(['dateutil-LICENSE.txt', 'ical.js-LICENSE.txt', 'ical.net-license.md', 'libical-LICENSE.txt']);
    expect(fs.readFileSync(path.join(RRULE_VECTORS_DIR, 'vectors.jsonl'), 'utf8').trim().split('\n')).toHaveLength(632);
  });
});

function walkIcs(dir: string, out: string[] = []): string[] {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) walkIcs(p, out);
    else if (/\.ics$/i.test(d.name)) out.push(p);
  }
  return out;
}
