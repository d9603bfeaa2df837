/**
 * Where the real-world .ics corpus is: test/fixtures/corpus once it is vendored into the
 * repository, else ../shared/corpus beside the clone (the one place tests name it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const VENDORED = path.resolve(__dirname, 'fixtures', 'corpus');
const SHARED = path.resolve(__dirname, '..', '..', 'shared', 'corpus');

export const CORPUS_DIR = fs.existsSync(VENDORED) ? VENDORED : SHARED;

/** Every .ics file under the corpus, as sorted paths relative to CORPUS_DIR with `/` separators. */
export function corpusFiles(dir: string = CORPUS_DIR): string[] {
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(d, e.name);
      if (e.isDirectory()) return walk(p);
      return /\.ics$/i.test(e.name) ? [path.relative(dir, p).split(path.sep).join('/')] : [];
    });
  return fs.existsSync(dir) ? walk(dir).sort() : [];
}
