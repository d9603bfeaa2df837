/** The stable `parse`, `expand` and `export` commands (contract in docs/cli.md). */
import type { EventTime, ParseIssue } from '../core/event';
import { eventItemsOf, validateEventItems } from '../core/event-validate';
import { fieldMapProblem } from '../core/json';
import { binaryKind, parseCalendarInput, printable, INPUT_PRESETS, type InputPreset } from '../core/input';
import { expandOccurrences, type Occurrence } from '../core/recurrence';
import { serializeIcs } from '../core/ics/serialize';
import { eventTimeToUtc, formatUtc } from '../core/time';
import { parseArgs, optionValue, UsageError, type ParsedArgs } from './args';
import { readInput } from './io';
import { createRequire } from 'node:module';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin?: NodeJS.ReadableStream;
  now: () => number;
  /** Environment for commands that read one (publish); default process.env. */
  env?: Record<string, string | undefined>;
}

function presetOption(value: string | undefined): InputPreset {
  if (value === undefined) return 'auto';
  if (!(INPUT_PRESETS as readonly string[]).includes(value)) throw new UsageError(`--preset must be one of ${INPUT_PRESETS.join(', ')} (got "${value}")`);
  return value as InputPreset;
}

function mapOption(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  let map: unknown;
  try {
    map = JSON.parse(value);
  } catch (err) {
    throw new UsageError(`--map is not valid JSON: ${(err as Error).message}`);
  }
  if (!map || typeof map !== 'object' || Array.isArray(map)) throw new UsageError('--map must be a JSON object of field → dot path, e.g. {"id":"uuid","title":"name","start":"begin"}');
  return map as Record<string, string>;
}

const INPUT_OPTIONS = ['preset', 'map', 'source-id', 'default-tz'];

/** Checks the arguments every input-reading command shares; all usage errors come before any I/O. */
function inputArgs(args: ParsedArgs) {
  if (args.positionals.length !== 1) throw new UsageError('expected exactly one input: a file, an http(s) URL, or - for standard input');
  const preset = presetOption(optionValue(args, 'preset'));
  const map = mapOption(optionValue(args, 'map'));
  if (map) {
    if (preset === 'auto' || preset === 'ics' || preset === 'events') throw new UsageError('--map needs --preset learningspace, sonderplan or generic');
    const problem = fieldMapProblem(map, preset);
    if (problem) throw new UsageError(`--map: ${problem}`);
  }
  return { preset, map };
}

async function loadEvents(args: ParsedArgs, io: CommandIo) {
  const { preset, map } = inputArgs(args);
  const bytes = await readInput(args.positionals[0], io.stdin);
  const result = parseCalendarInput(bytes, { preset, map, sourceId: optionValue(args, 'source-id'), defaultTimeZone: optionValue(args, 'default-tz') });
  return result;
}

export async function parseCommand(argv: string[], io: CommandIo): Promise<number> {
  const result = await loadEvents(parseArgs(argv, { values: INPUT_OPTIONS, flags: [] }), io);
  io.stdout(JSON.stringify({ events: result.events, errors: result.errors }, null, 2) + '\n');
  return 0;
}

/** `2024-01-01`, `2024-01-01T10:00:00Z`, `…+01:00`; a time without zone is read as UTC. */
export function parseInstantOption(name: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`--${name} is required (ISO date or date-time, e.g. 2025-01-01 or 2025-01-01T00:00:00Z)`);
  const m = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(value);
  if (!m) throw new UsageError(`--${name} "${value}" is not an ISO date or date-time`);
  const text = m[2] ? (m[5] ? value : value + 'Z') : `${m[1]}T00:00:00Z`;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--${name} "${value}" is not a valid date`);
  return ms;
}

/** The CLI's time format: UTC for zoned/UTC times, wall clock for floating, the date for all-day. */
export function formatCliTime(t: EventTime): string {
  if (t.date !== undefined) return t.date;
  const dt = t.dateTime ?? '';
  if (dt.endsWith('Z')) return dt;
  return t.timeZone ? formatUtc(eventTimeToUtc(t)) : dt;
}

export interface CliOccurrence {
  uid: string;
  recurrenceId: string | null;
  start: string;
  end: string;
  allDay: boolean;
  title: string;
}

export function occurrenceToCli(o: Occurrence): CliOccurrence {
  return {
    uid: o.uid,
    recurrenceId: o.recurrenceId ? formatCliTime(o.recurrenceId) : null,
    start: formatCliTime(o.start),
    end: formatCliTime(o.end),
    allDay: o.allDay,
    title: o.title,
  };
}

export async function expandCommand(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: [...INPUT_OPTIONS, 'from', 'to'], flags: [] });
  inputArgs(args);
  const from = parseInstantOption('from', optionValue(args, 'from'));
  const to = parseInstantOption('to', optionValue(args, 'to'));
  if (!(from < to)) throw new UsageError('--from must be before --to');
  const result = await loadEvents(args, io);
  const expansion = expandOccurrences(result.events, from, to);
  const rows = expansion.occurrences.map((o) => ({ row: occurrenceToCli(o), at: eventTimeToUtc(o.start) }));
  rows.sort((a, b) => a.at - b.at || (a.row.uid < b.row.uid ? -1 : a.row.uid > b.row.uid ? 1 : 0));
  for (const issue of [...result.errors, ...expansion.errors]) io.stderr(`warning: ${describeIssue(issue)}\n`);
  io.stdout(JSON.stringify(rows.map((r) => r.row), null, 2) + '\n');
  return 0;
}

/** One line for stderr; messages that already say where they are (JSON presets do) are left alone. */
export function describeIssue(issue: ParseIssue): string {
  // The id still goes on the line: one unusable caldn item can stand for several events (one per date).
  if (/^(item|line) \d+/.test(issue.message)) return issue.uid && !issue.message.includes(issue.uid) ? `${issue.message} (uid ${issue.uid})` : issue.message;
  const where = [issue.line !== undefined ? `line ${issue.line}` : '', issue.item !== undefined ? `item ${issue.item}` : '', issue.uid && !issue.message.includes(issue.uid) ? `uid ${issue.uid}` : '', issue.field ? `field ${issue.field}` : '']
    .filter(Boolean)
    .join(', ');
  return where ? `${where}: ${issue.message}` : issue.message;
}

export async function exportCommand(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: ['method', 'name', 'prodid'], flags: [] });
  if (args.positionals.length !== 1) throw new UsageError('expected exactly one input: events.json (an array of events, or {"events": [...]}) or - for standard input');
  const bytes = await readInput(args.positionals[0], io.stdin);
  const kind = binaryKind(bytes);
  if (kind) throw new InputNotEventsError(`input is ${kind}, not event JSON`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new InputNotEventsError(`input is not JSON: ${printable((err as Error).message, 120)}`);
  }
  const items = eventItemsOf(json);
  if (!items) throw new InputNotEventsError('input must be a JSON array of events or an object with an "events" array (the output of `calendar-relay parse`)');
  const { events, errors, normalized } = validateEventItems(items);
  for (const issue of errors) io.stderr(`error: ${describeIssue(issue)} (event skipped)\n`);
  for (const issue of normalized) io.stderr(`warning: ${describeIssue(issue)}\n`);
  const opts = {
    now: io.now(), method: optionValue(args, 'method'), calendarName: optionValue(args, 'name'), prodId: optionValue(args, 'prodid'),
    onWarning: (w: { uid: string; message: string }) => io.stderr(`warning: uid ${w.uid}: ${w.message}\n`),
  };
  io.stdout(serializeIcs(events, opts));
  return 0;
}

/** The input of `export` is readable but not events (exit code 1). */
export class InputNotEventsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputNotEventsError';
  }
}

/**
 * `calendar-relay bridge [options]`: the bridge server lives in its own workspace package
 * (bridge/, `calendar-relay-bridge`) because it has runtime dependencies (Fastify, SQLite,
 * PostgreSQL client) that this bundled, dependency-free package must not carry. It is loaded at
 * run time, never bundled; when it is absent the command says how to install it.
 */
export const BRIDGE_PACKAGE = 'calendar-relay-bridge';

interface BridgeModule {
  runBridge: (argv: string[], io: { stdout: (t: string) => void; stderr: (t: string) => void; env?: NodeJS.ProcessEnv }) => Promise<number>;
}

export function makeBridgeCommand(load: () => BridgeModule = () => createRequire(__filename)(BRIDGE_PACKAGE) as BridgeModule) {
  return async (argv: string[], io: CommandIo): Promise<number> => {
    let bridge: BridgeModule;
    try {
      bridge = load();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'MODULE_NOT_FOUND' || !e.message.includes(BRIDGE_PACKAGE)) throw err;
      io.stderr(`calendar-relay: the bridge is a separate package (${BRIDGE_PACKAGE}: Fastify, SQLite, PostgreSQL client) and is not installed here.\n` +
        `  From a checkout of the repository: run \`npm install\` at its root (bridge/ is an npm workspace), then \`calendar-relay bridge\` or \`npm run bridge\`.\n` +
        `  Elsewhere: install ${BRIDGE_PACKAGE} next to this package (npm install ${BRIDGE_PACKAGE}). See docs/bridge.md.\n`);
      return 1;
    }
    return bridge.runBridge(argv, { stdout: io.stdout, stderr: io.stderr, env: process.env });
  };
}

export const bridgeCommand = makeBridgeCommand();
