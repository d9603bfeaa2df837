/**
 * parse → export → parse keeps every event, through the CLI's own commands and their JSON (the
 * path a user takes: `calendar-relay parse x.ics > x.json; calendar-relay export x.json`), for
 * every file of the real-world corpus. A truncated file is a failed read; it is checked with its
 * cut-off tail removed, so its complete events are still round-tripped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../cli';
import { parseIcs } from '../../core/ics/parse';
import { CORPUS_DIR, corpusFiles } from '../corpus-dir';

async function run(argv: string[], stdin: string | Buffer) {
  let stdout = '';
  let stderr = '';
  const input = new PassThrough();
  input.end(stdin);
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin: input, now: () => Date.UTC(2026, 10, 22, 12) });
  return { code, stdout, stderr };
}

/** The file as read, or with everything after its last END:VEVENT replaced by END:VCALENDAR when it is cut off. */
function input(rel: string): Buffer {
  const bytes = fs.readFileSync(path.join(CORPUS_DIR, rel));
  try {
    parseIcs(new Uint8Array(bytes));
    return bytes;
  } catch (err) {
    if (!/^truncated iCalendar/.test((err as Error).message)) return bytes;
    const text = bytes.toString('latin1');
    return Buffer.from(text.slice(0, text.lastIndexOf('END:VEVENT')) + 'END:VEVENT\r\nEND:VCALENDAR\r\n', 'latin1');
  }
}

const NOT_CALENDARS = ['libical/issue250.ics', 'libical/issue339.ics'];
const files = corpusFiles();

describe('parse → export → parse over the corpus (CLI)', () => {
  test('all 300 files are there', () => {
    expect(files).toHaveLength(300);
  });

  test.each(files)('%s keeps its event count', async (rel) => {
    const parsed = await run(['parse', '-', '--preset', 'ics'], input(rel));
    if (NOT_CALENDARS.includes(rel)) {
      expect(parsed.code).toBe(1);
      expect(parsed.stderr).toMatch(/not an iCalendar file/);
      return;
    }
    expect(parsed.stderr).toBe('');
    expect(parsed.code).toBe(0);
    const events = JSON.parse(parsed.stdout).events as unknown[];
    const exported = await run(['export', '-'], parsed.stdout);
    expect(exported.code).toBe(0);
    // Only warnings (a rule left out, a value normalised), never "event skipped".
    expect(exported.stderr.split('\n').filter((l) => l && !l.startsWith('warning: '))).toEqual([]);
    const again = parseIcs(exported.stdout);
    expect(again.errors).toEqual([]);
    expect(again.events).toHaveLength(events.length);
  });
});
