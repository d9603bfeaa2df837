/**
 * Generates the benchmark feed the issues describe: N VEVENTs, 10% of them weekly series with
 * COUNT=20 and EXDATEs, Europe/Berlin with its VTIMEZONE, CRLF line ends and folded lines.
 * Deterministic (seeded), so every run measures the same bytes. Lines are folded at 75 octets by
 * the serializer's own foldLine (the SUMMARY's en dash is 3 octets in UTF-8).
 */
import { foldLine } from '../core/ics/serialize';

const BERLIN_VTIMEZONE = [
  'BEGIN:VTIMEZONE', 'TZID:Europe/Berlin', 'X-LIC-LOCATION:Europe/Berlin',
  'BEGIN:DAYLIGHT', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'TZNAME:CEST', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT',
  'BEGIN:STANDARD', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'TZNAME:CET', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'END:STANDARD',
  'END:VTIMEZONE',
];

function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function stamp(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}00`;
}

export interface FeedOptions {
  events: number;
  seed?: number;
  /** First day of the generated schedule (UTC date). */
  startDate?: string;
}

export function generateFeed(opts: FeedOptions): string {
  let seed = opts.seed ?? 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const base = Date.parse((opts.startDate ?? '2026-01-05') + 'T00:00:00Z');
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Calendar Relay//bench feed//EN', 'CALSCALE:GREGORIAN', 'X-WR-CALNAME:Benchmark rooms', ...BERLIN_VTIMEZONE];
  for (let i = 0; i < opts.events; i++) {
    const day = Math.floor(rand() * 365);
    const hour = 7 + Math.floor(rand() * 11);
    const start = new Date(base + day * 86_400_000 + hour * 3_600_000 + (rand() < 0.5 ? 0 : 30 * 60_000));
    const end = new Date(start.getTime() + (1 + Math.floor(rand() * 3)) * 30 * 60_000);
    const room = 1 + Math.floor(rand() * 50);
    lines.push('BEGIN:VEVENT');
    lines.push(`UID:bench-${i}@calendar-relay.example`);
    lines.push('DTSTAMP:20260101T000000Z');
    lines.push(`DTSTART;TZID=Europe/Berlin:${stamp(start)}`);
    lines.push(`DTEND;TZID=Europe/Berlin:${stamp(end)}`);
    lines.push(`SUMMARY:Lecture ${i} – Advanced topics in room scheduling, part ${i % 7} (group ${String.fromCharCode(65 + (i % 26))})`);
    lines.push(`DESCRIPTION:Session ${i} of the benchmark timetable.\\nBring the handouts from last week\\, and the lab notes; the seminar continues in the same room. Contact the organiser for materials.`);
    lines.push(`LOCATION:Room ${room}\\, Building ${1 + (room % 5)}`);
    lines.push(`X-KALTURA-RESOURCE-IDS:${100 + room}`);
    if (i % 10 === 0) {
      lines.push('RRULE:FREQ=WEEKLY;COUNT=20');
      const ex1 = new Date(start.getTime() + 7 * 86_400_000 * (2 + (i % 5)));
      const ex2 = new Date(start.getTime() + 7 * 86_400_000 * (9 + (i % 7)));
      lines.push(`EXDATE;TZID=Europe/Berlin:${stamp(ex1)},${stamp(ex2)}`);
    }
    lines.push('STATUS:CONFIRMED');
    lines.push('END:VEVENT');
  }
  lines.push('END:VCALENDAR');
  return lines.map(foldLine).join('\r\n') + '\r\n';
}
