/**
 * Parse benchmark (issue 2): a generated 20,000-VEVENT feed parsed to CalendarEvent[] versus
 * node-ical's sync.parseICS and bare ICAL.parse + new ICAL.Component, in the same run; peak RSS
 * of a parse in a fresh process; and linearity at 100,000 events.
 */
import { execFileSync } from 'node:child_process';
import ICAL from 'ical.js';
import { parseIcs } from '../core/ics/parse';
import { generateFeed } from './feed-generator';
import { medianMs, report } from './measure';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeIcal = require('node-ical') as { sync: { parseICS(text: string): unknown } };

export function runParseBench(): boolean {
  const feed20k = generateFeed({ events: 20_000 });
  const feed100k = generateFeed({ events: 100_000, seed: 7 });
  const check = parseIcs(feed20k);
  if (check.events.length !== 20_000 || check.errors.length) throw new Error(`bench feed parsed wrongly: ${check.events.length} events, ${check.errors.length} errors`);

  const bare = medianMs(() => new ICAL.Component(ICAL.parse(feed20k)));
  const ours = medianMs(() => parseIcs(feed20k));
  const nodeIcalMs = medianMs(() => nodeIcal.sync.parseICS(feed20k), 3);
  const ours100k = medianMs(() => parseIcs(feed100k), 3);

  const rssMb = Number(execFileSync(process.execPath, ['--expose-gc', __filename, '--rss-child'], { encoding: 'utf8' }).trim()) / 1024;

  return report('parse: 20,000 VEVENTs (10% weekly series, EXDATEs, Europe/Berlin VTIMEZONE, CRLF, folded)', [
    ['feed size', `${(feed20k.length / 1e6).toFixed(1)} MB`],
    ['ICAL.parse + new ICAL.Component (baseline)', `${bare.toFixed(0)} ms`],
    ['calendar-relay parseIcs → CalendarEvent[]', `${ours.toFixed(0)} ms`],
    ['node-ical sync.parseICS', `${nodeIcalMs.toFixed(0)} ms`],
    ['calendar-relay parseIcs, 100,000 VEVENTs', `${ours100k.toFixed(0)} ms`],
  ], [
    { name: 'speed-up over node-ical', value: nodeIcalMs / ours, limit: 8, kind: 'min', unit: '×' },
    { name: 'ours / bare ical.js parse', value: ours / bare, limit: 1.5, kind: 'max', unit: '×' },
    { name: 'peak RSS of a 20,000-event parse (fresh process)', value: rssMb, limit: 250, kind: 'max', unit: ' MB' },
    { name: '100,000 / 20,000 time ratio', value: ours100k / ours, limit: 5.5, kind: 'max', unit: '×' },
  ]);
}

/** Runs in a fresh process (bench/run.ts --rss-child): one parse, then prints peak RSS in kB. */
export function parseRssChild(): void {
  const feed = generateFeed({ events: 20_000 });
  // Collect the generator's garbage first, so the peak measures the parse, not the feed builder.
  if (global.gc) global.gc();
  const result = parseIcs(feed);
  if (result.events.length !== 20_000) throw new Error('rss child parsed wrongly');
  process.stdout.write(String(process.resourceUsage().maxRSS));
}
