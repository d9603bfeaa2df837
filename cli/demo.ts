/**
 * `calendar-relay demo` (and `npm run demo`): the main job end to end, on embedded defaults, in
 * well under a minute and with nothing to set up.
 *
 * 1. starts the emulator in-process (modest latency, the real services' limits modelled),
 *    registers a Google service account and a Microsoft app, and creates the rooms the demo
 *    configs route to — Google room calendars and Microsoft 365 room mailboxes — plus a person's
 *    own booking in one room of each, which the sync must never touch;
 * 2. syncs the sample feeds modelled on each real source system (CKalender, Kaltura,
 *    LearningSpace ICS + JSON, caldn, Sonderplan; test/fixtures/feeds) with the configs in
 *    examples/demo/, printing a progress line per room;
 * 3. runs again: nothing is rewritten (0 writes, only list requests — counted from the
 *    emulator's request log);
 * 4. removes an event from two sources and runs again: the deletions propagate;
 * 5. starts the bridge (bridge/, loaded at run time; SQLite in the temporary directory, loopback,
 *    a generated admin token), publishes the CKalender feed as run 3 read it, fetches it as a
 *    calendar app does (200, then 304 with the ETag), subscribes to that feed URL and waits for the
 *    bridge's first poll, printing the subscription's status fields (cli/demo-bridge.ts); skipped
 *    with one line when the bridge package cannot be loaded;
 * 6. prints where to look (URLs, a curl line with a token, the config files used), then shuts the
 *    emulator and the bridge down — or keeps them running with --keep.
 *
 * The sample feeds are dated around 22 November 2026, so the demo runs on a clock that starts
 * there (emulator, tokens and sync windows all follow it).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { startEmulator, type Emulator } from '../emulator';
import { routingTargets } from '../core/routing';
import { MemoryFeedStateStore } from '../providers/feed';
import { parseArgs, optionValue, UsageError } from './args';
import type { CommandIo } from './commands';
import { loadConfigFile, type RelayConfig } from './config';
import { runRelaySync, type RelaySyncOutcome } from './sync';
import { runDemoBridge, type DemoBridgeResult } from './demo-bridge';
import { runCalDavDemo } from './demo-caldav';

export const DEMO_CONFIGS = [
  'ckalender-google.yaml',
  'kaltura-google.yaml',
  'learningspace-ics-google.yaml',
  'learningspace-json-microsoft.yaml',
  'caldn-microsoft.yaml',
  'sonderplan-microsoft.yaml',
  'overview-microsoft.yaml',
] as const;
export const DEMO_FEEDS = ['ckalender.ics', 'kaltura.ics', 'learningspace.ics', 'learningspace.json', 'caldn.json', 'sonderplan.json'] as const;

/** Where the demo's clock starts: the sample feeds are dated around this day. */
export const DEMO_EPOCH = Date.UTC(2026, 10, 22, 8, 0, 0);

const SERVICE_ACCOUNT = 'calendar-relay-demo@relay-demo.iam.gserviceaccount.com';
const GRAPH_APP = { tenant: 'contoso-demo', clientId: 'relay-demo-app', secret: 'demo-secret-not-for-production' };
/** People's own bookings, made outside the sync: they must survive every run. */
const GOOGLE_PERSONAL = { room: 'rathaus-raum-107@resource.calendar.google.com', summary: 'Personalgespräch (booked by hand)' };
const GRAPH_PERSONAL = { room: 'studio-a@media.example', subject: 'Kundentermin (booked in Outlook)' };
/** What the demo removes from the sources before the third run. */
const REMOVALS = [
  { feed: 'ckalender.ics', what: 'UID ck-20261105-0108 "Schulung: Neues Dokumentenmanagement"', apply: (t: string) => removeVevent(t, 'ck-20261105-0108@ckalender.example') },
  { feed: 'sonderplan.json', what: 'booking 90213 "Studio B – Podcastaufnahme"', apply: (t: string) => removeJsonItem(t, 'data', 90213) },
];

export interface DemoOptions {
  print: (line: string) => void;
  /** Added to every emulator request. Default 10 ms. */
  latencyMs?: number;
  /** Emulator port (default: a free one). */
  port?: number;
  /** Keep the emulator running at the end until this promise resolves (the command waits for Ctrl-C). */
  keepUntil?: Promise<void>;
  /** Repository root (default: found from this file). */
  root?: string;
}

export interface DemoRun {
  label: string;
  outcomes: RelaySyncOutcome[];
  totals: { created: number; updated: number; deleted: number; unchanged: number; failed: number };
  /** From the emulator's request log. */
  requests: { total: number; writes: number; lists: number; batches: number; largestBatch: number; tokens: number };
}

export interface DemoResult {
  ok: boolean;
  rooms: { google: string[]; microsoft: string[] };
  runs: DemoRun[];
  personalEventsUntouched: boolean;
  configFiles: string[];
  emulatorUrl: string;
  /** The bridge step (ran: false when the bridge package could not be loaded). */
  bridge: Omit<DemoBridgeResult, 'close'>;
}

const WRITE_KINDS = new Set(['google:insert', 'google:import', 'google:patch', 'google:update', 'google:delete', 'graph:create', 'graph:patch', 'graph:delete']);
const LIST_KINDS = new Set(['google:list', 'google:instances', 'graph:list', 'graph:calendarView', 'graph:delta']);

/** The repository root holding examples/demo and test/fixtures/feeds (the demo runs from a clone). */
export function findDemoRoot(starts: string[] = [__dirname, process.cwd()]): string {
  for (const start of starts) {
    let dir = start;
    for (let i = 0; i < 5; i++) {
      if (existsSync(join(dir, 'examples', 'demo', DEMO_CONFIGS[0])) && existsSync(join(dir, 'test', 'fixtures', 'feeds', DEMO_FEEDS[0]))) return dir;
      dir = dirname(dir);
    }
  }
  throw new DemoSetupError('the demo needs examples/demo/ and test/fixtures/feeds/ from a clone of the repository: run `npm run demo` (or `node dist/cli.js demo`) inside the clone');
}

/** The demo cannot find its files (exit code 1). */
export class DemoSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoSetupError';
  }
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const print = opts.print;
  const root = opts.root ?? findDemoRoot();
  const started = Date.now();
  // Near the feeds' dates the real clock is used; otherwise the demo's clock starts at DEMO_EPOCH.
  const shift = Math.abs(started - DEMO_EPOCH) < 3 * 86_400_000 ? 0 : DEMO_EPOCH - started;
  const now = () => Date.now() + shift;
  const work = await mkdtemp(join(tmpdir(), 'calendar-relay-demo-'));
  const feeds = join(work, 'feeds');
  let emu: Emulator | undefined;
  let bridge: DemoBridgeResult | undefined;
  try {
    // --- 1. emulator, credentials, rooms -----------------------------------------------------------
    print('Calendar Relay demo: sample feeds → emulated Google Calendar and Microsoft 365 rooms');
    print('');
    emu = await startEmulator({ port: opts.port ?? 0, latencyMs: opts.latencyMs ?? 10, now, limits: true });
    print(`▸ emulator on ${emu.url} (latency ${opts.latencyMs ?? 10} ms per request, Google/Outlook limits on)`);
    if (shift) print(`▸ the sample feeds are dated around ${new Date(DEMO_EPOCH).toISOString().slice(0, 10)}: the emulator and the syncs run on a clock starting there`);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    emu.google.registerServiceAccount(SERVICE_ACCOUNT, publicKey);
    await writeFile(join(work, 'google-service-account.json'), JSON.stringify({
      type: 'service_account', project_id: 'relay-demo', private_key_id: 'demo-key-1', private_key: privateKey, client_email: SERVICE_ACCOUNT,
      token_uri: `${emu.url}/token`,
    }, null, 2), { mode: 0o600 });
    emu.graph.registerApp(GRAPH_APP.clientId, GRAPH_APP.secret, GRAPH_APP.tenant);
    print(`▸ Google service account ${SERVICE_ACCOUNT} (key in ${join(work, 'google-service-account.json')})`);
    print(`▸ Microsoft app ${GRAPH_APP.clientId} in tenant ${GRAPH_APP.tenant} (client credentials)`);

    await mkdir(feeds, { recursive: true });
    for (const f of DEMO_FEEDS) await copyFile(join(root, 'test', 'fixtures', 'feeds', f), join(feeds, f));
    const env: Record<string, string> = {
      DEMO_EMULATOR: emu.url, DEMO_DIR: work, DEMO_FEEDS: feeds,
      DEMO_TENANT: GRAPH_APP.tenant, DEMO_CLIENT_ID: GRAPH_APP.clientId, DEMO_CLIENT_SECRET: GRAPH_APP.secret,
    };
    const configFiles = DEMO_CONFIGS.map((c) => join(root, 'examples', 'demo', c));
    const configs: RelayConfig[] = [];
    for (const f of configFiles) configs.push(await loadConfigFile(f, env));

    const rooms = { google: new Set<string>(), microsoft: new Set<string>() };
    for (const c of configs) for (const r of routingTargets(c.routing)) (c.target.provider === 'google' ? rooms.google : rooms.microsoft).add(r);
    for (const r of rooms.google) emu.google.addRoom({ resourceName: roomName(r), resourceEmail: r, capacity: 12 });
    // Room mailboxes report their zone (mailboxSettings); configs without defaultTimeZone use it.
    emu.graph.setDefaultMailboxTimeZone('W. Europe Standard Time');
    for (const r of rooms.microsoft) emu.graph.addRoom({ email: r, displayName: roomName(r), capacity: 12 });
    print(`▸ ${rooms.google.size} Google room calendars: ${[...rooms.google].map(short).join(', ')}`);
    print(`▸ ${rooms.microsoft.size} Microsoft 365 room mailboxes: ${[...rooms.microsoft].join(', ')}`);
    emu.google.seedEvent(GOOGLE_PERSONAL.room, {
      summary: GOOGLE_PERSONAL.summary, start: { dateTime: '2026-11-25T10:00:00+01:00' }, end: { dateTime: '2026-11-25T11:00:00+01:00' },
    });
    emu.graph.seedEvent(GRAPH_PERSONAL.room, {
      subject: GRAPH_PERSONAL.subject, start: { dateTime: '2026-11-26T14:00:00', timeZone: 'W. Europe Standard Time' }, end: { dateTime: '2026-11-26T15:00:00', timeZone: 'W. Europe Standard Time' },
    });
    print(`▸ a person's own bookings, not made by the sync: "${GOOGLE_PERSONAL.summary}" in ${short(GOOGLE_PERSONAL.room)}, "${GRAPH_PERSONAL.subject}" in ${GRAPH_PERSONAL.room}`);

    // --- 2–4. three runs ----------------------------------------------------------------------------
    const feedStore = new MemoryFeedStateStore();
    const runs: DemoRun[] = [];
    const runAll = async (label: string, verbose: boolean): Promise<DemoRun> => {
      print('');
      print(`━━ ${label}`);
      const before = { ...emu!.log.byKind };
      const total0 = emu!.log.total;
      const batches0 = emu!.log.batchCount;
      const batchSizes0 = emu!.log.batchSizes.length;
      const outcomes: RelaySyncOutcome[] = [];
      for (const [i, config] of configs.entries()) {
        print(`${DEMO_CONFIGS[i]}  (${config.target.provider === 'google' ? 'Google' : 'Microsoft 365'}, sync id ${config.syncId})`);
        const outcome = await runRelaySync(config, {
          now, feedStore,
          progress: (line) => {
            if (verbose || !line.startsWith('  room ')) print(`  ${line}`);
          },
        });
        outcomes.push(outcome);
        if (!outcome.ok) print(`  ✗ ${outcome.guard?.message ?? outcome.sources.find((s) => !s.ok)?.failure ?? outcome.rooms.flatMap((r) => r.errors)[0] ?? 'failed'}`);
        for (const u of outcome.unmapped) if (verbose) print(`  · not routed: "${u.title}" — ${u.reason}`);
        // Series a target cannot store as a series (Graph: moved/cancelled occurrences, EXDATEs) are batched as single events.
        for (const w of outcome.warnings) if (verbose && / written as \d+ single event/.test(w)) print(`  · ${w}`);
      }
      const after = emu!.log.byKind;
      const diff = (pred: (k: string) => boolean) => Object.keys(after).filter(pred).reduce((n, k) => n + (after[k] - (before[k] ?? 0)), 0);
      const totals = { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
      for (const o of outcomes) for (const r of o.rooms) {
        totals.created += r.created;
        totals.updated += r.updated;
        totals.deleted += r.deleted;
        totals.unchanged += r.unchanged;
        totals.failed += r.failed + r.notAttempted;
      }
      const requests = {
        total: emu!.log.total - total0,
        writes: diff((k) => WRITE_KINDS.has(k)),
        lists: diff((k) => LIST_KINDS.has(k)),
        batches: emu!.log.batchCount - batches0,
        largestBatch: Math.max(0, ...emu!.log.batchSizes.slice(batchSizes0)),
        tokens: diff((k) => k.endsWith(':token')),
      };
      print(`  → created ${totals.created}, updated ${totals.updated}, deleted ${totals.deleted}, unchanged ${totals.unchanged}, failed ${totals.failed}`);
      print(`  → emulator request log: ${requests.writes} event writes (${requests.batches} batch requests${requests.batches ? `, the largest with ${requests.largestBatch}` : ""}), ${requests.lists} list requests, ${requests.tokens} token requests, ${requests.total} HTTP requests in all`);
      const run = { label, outcomes, totals, requests };
      runs.push(run);
      return run;
    };

    const first = await runAll('Run 1: first sync of every source', true);
    const second = await runAll('Run 2: the same feeds again — nothing may be rewritten', false);
    print(second.requests.writes === 0 ? '  ✓ no event rewritten: only list requests' : `  ✗ ${second.requests.writes} writes on an unchanged source`);
    print('');
    for (const r of REMOVALS) {
      const file = join(feeds, r.feed);
      await writeFile(file, r.apply(await readFile(file, 'utf8')));
      print(`✂ removed ${r.what} from ${r.feed}`);
    }
    const third = await runAll('Run 3: after removing those events from their sources', false);
    for (const o of third.outcomes) for (const room of o.rooms) if (room.deleted) print(`  ✓ deleted ${room.deleted} event(s) from ${room.calendarId}`);

    const googlePersonal = emu.google.listRaw(GOOGLE_PERSONAL.room).some((e) => e.summary === GOOGLE_PERSONAL.summary && e.status !== 'cancelled');
    const graphPersonal = emu.graph.listRaw(GRAPH_PERSONAL.room).some((e) => e.fields.subject === GRAPH_PERSONAL.subject);
    const personalEventsUntouched = googlePersonal && graphPersonal;
    print(personalEventsUntouched ? '  ✓ the people\'s own bookings are untouched' : '  ✗ a person\'s own booking was changed');
    if (emu.internalErrors.length) print(`  ✗ emulator internal errors: ${emu.internalErrors.map((e) => e.message).join('; ')}`);

    // --- 5. the bridge ---------------------------------------------------------------------------------
    bridge = await runDemoBridge({
      print, dataDir: join(work, 'bridge-data'), keep: opts.keepUntil !== undefined,
      ics: await readFile(join(feeds, 'ckalender.ics'), 'utf8'), what: 'the CKalender feed as run 3 synced it (ckalender.ics)',
    });

    // --- 6. where to look ----------------------------------------------------------------------------
    // With --keep the emulator goes on for your own runs on the real clock: return to it *before*
    // issuing the tokens printed below, so they stay valid for the stated 24 h from now.
    if (opts.keepUntil && shift) emu.clock.advance(-shift);
    const tokenLifetimeS = 86_400;
    const validUntil = `${new Date(emu.clock.now() + tokenLifetimeS * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const googleToken = emu.google.issueAccessToken({ lifetimeSeconds: tokenLifetimeS });
    const graphToken = emu.graph.issueToken({ lifetimeS: tokenLifetimeS });
    print('');
    print('━━ Where to look');
    print(opts.keepUntil
      ? `  The emulator keeps running on ${emu.url} until you press Ctrl-C: try these now (the tokens are valid for 24 h, until ${validUntil}).`
      : '  Note: the emulator stops when the demo ends, so these lines only work with `npm run demo -- --keep`.');
    print(`  Google room calendar:   curl -s -H "Authorization: Bearer ${googleToken}" '${emu.url}/calendar/v3/calendars/${encodeURIComponent(GOOGLE_PERSONAL.room)}/events'`);
    print(`  …its series with every occurrence (moved and cancelled ones too): add ?singleEvents=true to that URL`);
    print(`  Microsoft 365 mailbox:  curl -s -H "Authorization: Bearer ${graphToken}" '${emu.url}/v1.0/users/${GRAPH_PERSONAL.room}/events'`);
    print(`  Configs used (run one yourself: calendar-relay sync --config <file> [--dry-run], with the emulator kept running and these variables set):`);
    for (const f of configFiles) print(`    ${relative(process.cwd(), f) || f}`);
    for (const [k, v] of Object.entries(env)) print(`    export ${k}='${v}'`);
    print(`  Sample feeds: test/fixtures/feeds/ (the demo edits copies in ${feeds})`);
    print(`  Config format: docs/config.md; real-service examples: examples/*.yaml`);
    if (!opts.keepUntil) print(`  (the emulator${bridge.ran ? ' and the bridge stop' : ' stops'} now: run \`npm run demo -- --keep\` to keep ${bridge.ran ? 'them' : 'it'} running and try the lines above)`);

    // Each removed event is deleted once per config that reads its feed (CKalender: its rooms and the overview mailbox).
    const expectedDeletes = REMOVALS.reduce((n, r) => n + configs.filter((c) => c.sources.some((s) => s.file?.endsWith(r.feed))).length, 0);
    const ok = first.outcomes.every((o) => o.ok) && second.requests.writes === 0 && third.totals.deleted === expectedDeletes && personalEventsUntouched
      && emu.internalErrors.length === 0 && first.totals.created > 0 && bridge.ok;
    print('');
    print(ok ? `✓ demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s` : '✗ demo finished with problems (see above)');
    const result: DemoResult = {
      ok, rooms: { google: [...rooms.google], microsoft: [...rooms.microsoft] }, runs, personalEventsUntouched, configFiles, emulatorUrl: emu.url,
      bridge: (({ close: _close, ...rest }) => rest)(bridge),
    };
    if (opts.keepUntil) {
      print('');
      if (bridge.ran) print(`The bridge keeps running on ${bridge.url} (the curl lines in the bridge step work now).`);
      print(`The emulator keeps running on ${emu.url} (the tokens above are valid until ${validUntil}; the export lines above set up your own runs).`);
      if (shift) {
        // Your own runs use the real clock (the clock went back before the tokens were issued).
        print(`(The emulator's clock is back on real time for your own runs; the sample events are dated ${new Date(DEMO_EPOCH).toISOString().slice(0, 7)}, so widen window: in a copied config to see them.)`);
      }
      print('Press Ctrl-C to stop.');
      await opts.keepUntil;
      print(bridge.ran ? 'stopping the bridge and the emulator…' : 'stopping the emulator…');
    }
    return result;
  } finally {
    await bridge?.close();
    await emu?.close();
    await rm(work, { recursive: true, force: true });
  }
}

function roomName(email: string): string {
  return email.split('@')[0].replace(/[-_.]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
}

function short(email: string): string {
  return email.replace('@resource.calendar.google.com', '@…');
}

/** Removes every VEVENT with this UID (master and overrides) from ICS text. */
export function removeVevent(ics: string, uid: string): string {
  const eol = ics.includes('\r\n') ? '\r\n' : '\n';
  const blocks = ics.split(/(?=BEGIN:VEVENT\r?\n)/);
  return blocks
    .map((b) => {
      if (!b.startsWith('BEGIN:VEVENT')) return b;
      const end = b.indexOf(`END:VEVENT${eol}`);
      const body = end === -1 ? b : b.slice(0, end + `END:VEVENT${eol}`.length);
      const rest = end === -1 ? '' : b.slice(body.length);
      return new RegExp(`^UID:${uid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\r?$`, 'm').test(body) ? rest : b;
    })
    .join('');
}

/** Removes the item with this id from the array at `key` of a JSON document. */
export function removeJsonItem(text: string, key: string, id: number | string): string {
  const doc = JSON.parse(text) as Record<string, Array<{ id?: unknown }>>;
  doc[key] = doc[key].filter((item) => item.id !== id);
  return JSON.stringify(doc, null, 2) + '\n';
}

export async function demoCommand(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, { values: ['latency', 'port', 'caldav-url', 'caldav-user'], flags: ['keep', 'caldav'] });
  if (args.positionals.length) throw new UsageError(`demo takes no positional arguments (got "${args.positionals[0]}")`);
  const num = (name: string, max: number) => {
    const v = optionValue(args, name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) > max) throw new UsageError(`--${name} must be a whole number up to ${max} (got "${v}")`);
    return Number(v);
  };
  const latencyMs = num('latency', 5000);
  const port = num('port', 65535);
  const keepUntil = args.options.has('keep')
    ? new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    })
    : undefined;
  try {
    if (args.options.has('caldav')) {
      // --caldav: the sample feeds into CalDAV room calendars on a real Radicale (cli/demo-caldav.ts).
      const baseUrl = optionValue(args, 'caldav-url') ?? process.env.CALDAV_DEMO_URL;
      if (!baseUrl) {
        io.stderr('calendar-relay: demo --caldav needs a CalDAV server (--caldav-url, --caldav-user, password in CALDAV_DEMO_PASSWORD): `node scripts/caldav-servers.mjs demo` starts a throwaway Radicale and runs it\n');
        return 1;
      }
      const startedAt = Date.now();
      const server = { baseUrl, username: optionValue(args, 'caldav-user') ?? process.env.CALDAV_DEMO_USER ?? '', password: process.env.CALDAV_DEMO_PASSWORD ?? '' };
      const r = await runCalDavDemo({ print: (l) => io.stdout(l + '\n'), root: findDemoRoot(), now: () => DEMO_EPOCH + (Date.now() - startedAt), server, removeVevent });
      return r.ok ? 0 : 1;
    }
    const result = await runDemo({ print: (l) => io.stdout(l + '\n'), latencyMs, port, keepUntil });
    return result.ok ? 0 : 1;
  } catch (err) {
    if (!(err instanceof DemoSetupError)) throw err;
    io.stderr(`calendar-relay: ${err.message}\n`);
    return 1;
  }
}
