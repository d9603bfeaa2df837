/**
 * `calendar-relay emulator --port N [--https] [--latency ms] [--no-limits] [--rooms a@x,b@y]`:
 * runs the local Google Calendar v3 + Microsoft Graph emulator (emulator/index.ts) in the
 * foreground and prints its URLs plus ready-to-use credentials, so a relay.yaml (docs/config.md,
 * "Against the emulator") can sync into it. Stops on Ctrl-C.
 */
import { runEmulatorCli, type Emulator } from '../emulator';
import { parseArgs, optionValue, UsageError } from './args';
import type { CommandIo } from './commands';

/** Credentials the emulator command registers, for configs pointed at it. */
export const EMULATOR_GRAPH_APP = { tenantId: 'emulator-tenant', clientId: 'relay-emulator-client', clientSecret: 'relay-emulator-secret' } as const;

function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${value}")`);
  return Number(value);
}

export interface EmulatorCommandDeps {
  /** Receives the running emulator (tests close it). */
  onStarted?: (emu: Emulator) => void;
}

export function makeEmulatorCommand(deps: EmulatorCommandDeps = {}) {
  return async (argv: string[], io: CommandIo): Promise<number> => {
    const args = parseArgs(argv, { values: ['port', 'latency', 'rooms', 'host'], flags: ['https', 'no-limits'] });
    if (args.positionals.length) throw new UsageError(`emulator takes no positional arguments (got "${args.positionals[0]}")`);
    const port = intOption('port', optionValue(args, 'port'), 0, 65535);
    if (port === undefined) throw new UsageError('emulator needs --port <N> (0 picks a free port)');
    const latencyMs = intOption('latency', optionValue(args, 'latency'), 0, 60_000) ?? 0;
    const rooms = (optionValue(args, 'rooms') ?? '').split(',').map((r) => r.trim()).filter(Boolean);
    for (const r of rooms) if (!/^[^@\s]+@[^@\s]+$/.test(r)) throw new UsageError(`--rooms takes e-mail-like ids separated by commas (got "${r}")`);
    const print = (line: string) => io.stdout(line + '\n');
    const emu = await runEmulatorCli(port, {
      https: args.options.has('https'), latencyMs, limits: !args.options.has('no-limits'),
      ...(optionValue(args, 'host') ? { host: optionValue(args, 'host') } : {}),
    }, print);
    for (const r of rooms) {
      emu.google.createCalendar(r, { summary: r });
      emu.graph.createMailbox(r, { room: true, displayName: r });
    }
    emu.graph.registerApp(EMULATOR_GRAPH_APP.clientId, EMULATOR_GRAPH_APP.clientSecret, EMULATOR_GRAPH_APP.tenantId);
    const googleToken = emu.google.issueAccessToken({ lifetimeSeconds: 30 * 86_400 });
    const graphToken = emu.graph.issueToken({ lifetimeS: 30 * 86_400 });
    print('');
    if (rooms.length) print(`  Rooms (Google calendars and Microsoft 365 room mailboxes): ${rooms.join(', ')}`);
    print(`  Microsoft app (client credentials): tenantId ${EMULATOR_GRAPH_APP.tenantId}, clientId ${EMULATOR_GRAPH_APP.clientId}, clientSecret ${EMULATOR_GRAPH_APP.clientSecret}, authority ${emu.url}`);
    print(`  Google access token (30 days):  ${googleToken}`);
    print(`  Graph access token (30 days):   ${graphToken}`);
    if (rooms.length) {
      const r = encodeURIComponent(rooms[0]);
      print(`  Try: curl${emu.tls ? ' -k' : ''} -H "Authorization: Bearer ${googleToken}" '${emu.url}/calendar/v3/calendars/${r}/events'`);
      print(`       curl${emu.tls ? ' -k' : ''} -H "Authorization: Bearer ${graphToken}" '${emu.url}/v1.0/users/${r}/events'`);
    }
    print('  Press Ctrl-C to stop.');
    deps.onStarted?.(emu);
    // The listening server keeps the process alive; main() only sets the exit code.
    return 0;
  };
}

export const emulatorCommand = makeEmulatorCommand();
