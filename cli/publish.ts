/**
 * `calendar-relay publish <events.json|file.ics|-> --bridge <baseUrl> --name <feed> [--token <t>]`:
 * publishes a feed through a bridge's `PUT /api/feeds/{name}` (the same call the Feed Export node
 * makes) and prints the subscribe URL. The bridge validates the content: any invalid item is
 * refused with its list and nothing is published.
 */
import { optionValue, parseArgs, UsageError } from './args';
import { InputReadError, networkFailure, readInput } from './io';
import { binaryKind, printable } from '../core/input';
import { InputNotEventsError, type CommandIo } from './commands';

export const BRIDGE_TOKEN_ENV = 'CALENDAR_RELAY_BRIDGE_TOKEN';

/** The bridge answered with an error (exit code 1). */
export class PublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishError';
  }
}

/** `application/json` for event JSON, `text/calendar` for iCalendar; anything else is refused before sending. */
export function publishContentType(bytes: Uint8Array): string {
  const kind = binaryKind(bytes);
  if (kind) throw new InputNotEventsError(`input is ${kind}, not event JSON or iCalendar`);
  const text = Buffer.from(bytes.subarray(0, 4096)).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return 'application/json';
  if (/^BEGIN:VCALENDAR/i.test(text)) return 'text/calendar; charset=utf-8';
  throw new InputNotEventsError('input is neither event JSON ({"events": [...]} or an array) nor iCalendar (BEGIN:VCALENDAR)');
}

function bridgeBase(value: string | undefined): URL {
  if (!value) throw new UsageError('--bridge <baseUrl> is required (the bridge\'s address, e.g. https://calendar.example.edu)');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--bridge must be an http(s) URL (got "${printable(value, 80)}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--bridge must be an http(s) URL (got "${printable(value, 80)}")`);
  if (url.search || url.hash || url.username || url.password) throw new UsageError('--bridge must be a plain base URL (no query, fragment or credentials; the token goes in --token)');
  return url;
}

export async function publishCommand(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: ['bridge', 'name', 'token'], flags: [] });
  if (args.positionals.length !== 1) throw new UsageError('expected exactly one input: events.json, file.ics, or - for standard input');
  const base = bridgeBase(optionValue(args, 'bridge'));
  const name = optionValue(args, 'name');
  if (!name) throw new UsageError('--name <feed> is required');
  const env = io.env ?? process.env;
  const token = optionValue(args, 'token') ?? env[BRIDGE_TOKEN_ENV];
  if (!token) throw new UsageError(`an admin token is required: --token <token> or ${BRIDGE_TOKEN_ENV}`);

  const bytes = await readInput(args.positionals[0], io.stdin);
  const contentType = publishContentType(bytes);
  const target = new URL(`${base.pathname.replace(/\/+$/, '')}/api/feeds/${encodeURIComponent(name)}`, base);
  let res: Response;
  try {
    res = await fetch(target, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': contentType, accept: 'application/json' }, body: bytes, redirect: 'error' });
  } catch (err) {
    throw new InputReadError(`cannot reach the bridge at ${base.origin}: ${networkFailure(err)}`);
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: reported below by status
  }
  if (!res.ok) {
    const items = Array.isArray(body.items) ? (body.items as unknown[]) : [];
    for (const item of items.slice(0, 20)) io.stderr(`error: ${printable(JSON.stringify(item), 300)}\n`);
    const reason = typeof body.error === 'string' ? body.error : printable(text, 200) || res.statusText;
    throw new PublishError(`the bridge refused feed "${name}": HTTP ${res.status}: ${reason}${res.status === 401 ? ' (check --token / ' + BRIDGE_TOKEN_ENV + ')' : ''}`);
  }
  if (typeof body.subscribeUrl !== 'string') throw new PublishError(`the bridge answered HTTP ${res.status} without a subscribeUrl (is ${base.origin} a Calendar Relay bridge?)`);
  io.stderr(`feed "${name}": version ${String(body.version)}${body.changed === false ? ' (unchanged)' : ''}, ${String(body.events)} events\n`);
  io.stdout(`${body.subscribeUrl}\n`);
  return 0;
}
