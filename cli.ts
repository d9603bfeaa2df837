#!/usr/bin/env node
/**
 * `calendar-relay`: the command-line face of the same core the n8n nodes and the bridge use.
 * Exit codes: 0 success (per-event problems are reported in the output), 2 bad arguments,
 * 1 unreadable or non-calendar input (or a failed sync), each with a one-line message on stderr.
 */
import { UsageError } from './cli/args';
import { InputReadError } from './cli/io';
import { parseCommand, expandCommand, exportCommand, bridgeCommand, InputNotEventsError, type CommandIo } from './cli/commands';
import { CalendarInputError } from './core/input';
import { syncCommand } from './cli/sync';
import { emulatorCommand } from './cli/emulator-command';
import { demoCommand } from './cli/demo';
import { publishCommand, PublishError } from './cli/publish';

const USAGE = `usage: calendar-relay <command> [options]
  parse  <file|url|-> [--preset auto|ics|events|caldn|learningspace|sonderplan|generic] [--map <json>]
                      [--source-id <id>] [--default-tz <IANA zone>]
  expand <file|url|-> --from <ISO> --to <ISO> [--preset …] [--map <json>] [--source-id <id>] [--default-tz <IANA zone>]
  export <events.json|-> [--method PUBLISH] [--name <calendar name>] [--prodid <PRODID>]
  sync   --config <relay.yaml> [--dry-run] [--json] [--force] [--allow-empty-source] [--allow-shrink]
  emulator --port <N> [--host <addr>] [--https [--cert-out <file>]] [--latency <ms>] [--no-limits] [--rooms <a@x,b@y>]
  demo   [--keep] [--latency <ms>] [--port <N>] [--caldav --caldav-url <url> [--caldav-user <name>]]
  publish <events.json|file.ics|-> --bridge <baseUrl> --name <feed> [--token <admin token>]  (or env CALENDAR_RELAY_BRIDGE_TOKEN)
  bridge [--config <file>] [--port <N>] [--data-dir <dir>] [--database-url <url>] …  (calendar-relay bridge --help)
Every command takes --help; docs/cli.md has the details.`;

type Command = (argv: string[], io: CommandIo) => Promise<number>;
const commands: Record<string, Command> = {
  parse: parseCommand,
  expand: expandCommand,
  export: exportCommand,
  sync: syncCommand,
  emulator: emulatorCommand,
  demo: demoCommand,
  bridge: bridgeCommand,
  publish: publishCommand,
};

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    io.stderr('calendar-relay: no command given (calendar-relay --help for usage)\n');
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE + '\n');
    return 0;
  }
  const command = commands[name];
  // The bridge prints its own, longer usage.
  if (Object.prototype.hasOwnProperty.call(commands, name) && name !== 'bridge' && (rest.includes('--help') || rest.includes('-h'))) {
    io.stdout(USAGE + '\n');
    return 0;
  }
  try {
    if (!command) throw new UsageError(`unknown command "${name}"`);
    return await command(rest, io);
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    if (err instanceof UsageError) {
      io.stderr(`calendar-relay: ${message} (calendar-relay --help for usage)\n`);
      return 2;
    }
    if (err instanceof InputReadError || err instanceof PublishError || err instanceof CalendarInputError || err instanceof InputNotEventsError) {
      io.stderr(`calendar-relay: ${message}\n`);
      return 1;
    }
    io.stderr(`calendar-relay: unexpected error: ${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // `calendar-relay parse big.ics | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    now: () => Date.now(),
  }).then((code) => {
    process.exitCode = code;
  });
}
