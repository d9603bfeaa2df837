/**
 * The real-world .ics corpus, vendored in test/fixtures/corpus (see test/fixtures-path.ts), and a
 * listing of its files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORPUS_DIR, fixtureFile } from './fixtures-path';

export { CORPUS_DIR };

/** Every .ics file under the corpus, as sorted paths relative to CORPUS_DIR with `/` separators; a missing corpus fails by name. */
export function corpusFiles(dir: string = CORPUS_DIR): string[] {
  fixtureFile(dir, 'MANIFEST.tsv');
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(d, e.name);
      if (e.isDirectory()) return walk(p);
      return /\.ics$/i.test(e.name) ? [path.relative(dir, p).split(path.sep).join('/')] : [];
    });
  return walk(dir).sort();
}
