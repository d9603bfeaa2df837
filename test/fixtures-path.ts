/**
 * Where the tests find their vendored test data. Everything lives inside this repository
 * (test/fixtures/, see its README): a clone with nothing beside it runs the whole suite.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FIXTURES_DIR = path.join(__dirname, 'fixtures');
/** The real-world .ics corpus (300 files from 10 public repositories, MANIFEST.tsv, licence texts). */
export const CORPUS_DIR = path.join(FIXTURES_DIR, 'corpus');
/** RRULE oracle vectors (libical, ical.net, dateutil, ical.js, RFC 5545 examples). */
export const RRULE_VECTORS_DIR = path.join(FIXTURES_DIR, 'rrule-vectors');

/** The path of a vendored file; a missing one is an error naming it, never a silently empty test table. */
export function fixtureFile(dir: string, rel: string): string {
  const p = path.join(dir, rel);
  if (!fs.existsSync(p)) throw new Error(`test fixture ${path.relative(path.join(__dirname, '..'), p)} is missing (see test/fixtures/README.md)`);
  return p;
}
