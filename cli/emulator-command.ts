/**
 * `calendar-relay emulator --port N [--https [--cert-out file]] [--latency ms] [--no-limits]
 * [--rooms a@x,b@y]`: runs the local Google Calendar v3 + Microsoft Graph emulator
 * (emulator/index.ts) in the foreground and prints its URLs plus ready-to-use credentials (static
 * tokens, a Google service-account key file, refresh tokens, a Microsoft app), so a relay.yaml
 * (docs/config.md, "Against the emulator") can sync into it through the real auth paths.
 * Stops on Ctrl-C.
 */
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runEmulatorCli, type Emulator } from '../emulator';
import { parseArgs, optionValue, UsageError } from './args';
import type { CommandIo } from './commands';

/** Credentials the emulator command registers, for configs pointed at it. */
export const EMULATOR_GRAPH_APP = { tenantId: 'emulator-tenant', clientId: 'relay-emulator-client', clientSecret: 'relay-emulator-secret' } as const;
export const EMULATOR_GOOGLE_SERVICE_ACCOUNT = 'relay@calendar-relay-emulator.iam.gserviceaccount.com';
/** Refresh-token grants the emulator command registers (emulator-only values). */
export const EMULATOR_REFRESH_GRANTS = { google: '1//emulator-refresh-token', microsoft: '0.A-emulator-refresh-token' } as const;
/** The person the refresh tokens act for (a Microsoft 365 mailbox, and the Google `primary`). */
export const EMULATOR_USER = 'relay-user@emulator.example';

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
    const args = parseArgs(argv, { values: ['port', 'latency', 'rooms', 'host', 'cert-out'], flags: ['https', 'no-limits'] });
    if (args.positionals.length) throw new UsageError(`emulator takes no positional arguments (got "${args.positionals[0]}")`);
    const port = intOption('port', optionValue(args, 'port'), 0, 65535);
    if (port === undefined) throw new UsageError('emulator needs --port <N> (0 picks a free port)');
    const latencyMs = intOption('latency', optionValue(args, 'latency'), 0, 60_000) ?? 0;
    const rooms = (optionValue(args, 'rooms') ?? '').split(',').map((r) => r.trim()).filter(Boolean);
    for (const r of rooms) if (!/^[^@\s]+@[^@\s]+$/.test(r)) throw new UsageError(`--rooms takes e-mail-like ids separated by commas (got "${r}")`);
    const https = args.options.has('https');
    const certOut = optionValue(args, 'cert-out');
    if (certOut !== undefined && !https) throw new UsageError('--cert-out needs --https (plain http has no certificate)');
    const print = (line: string) => io.stdout(line + '\n');
    const emu = await runEmulatorCli(port, {
      https, latencyMs, limits: !args.options.has('no-limits'),
      ...(optionValue(args, 'host') ? { host: optionValue(args, 'host') } : {}),
    }, print);
    const files = await mkdtemp(join(tmpdir(), 'calendar-relay-emulator-'));
    // The folder holds a generated private key: it goes when the emulator stops — close(), Ctrl-C
    // (runEmulatorCli's SIGINT/SIGTERM handler calls close()) or any other exit of the process.
    const removeFiles = () => rmSync(files, { recursive: true, force: true });
    process.once('exit', removeFiles);
    const closeServer = emu.close.bind(emu);
    emu.close = async () => {
      try {
        await closeServer();
      } finally {
        removeFiles();
        process.removeListener('exit', removeFiles);
      }
    };

    // Rooms: Google Directory resources (with their calendars) and Microsoft 365 room mailboxes (places).
    for (const r of rooms) {
      emu.google.addRoom({ resourceName: r, resourceEmail: r });
      emu.graph.createMailbox(r, { room: true, displayName: r });
    }
    emu.google.createCalendar('primary', { summary: 'primary' });
    emu.google.createCalendar(EMULATOR_USER, { summary: EMULATOR_USER });
    emu.graph.createMailbox(EMULATOR_USER, { displayName: 'Relay User' });

    // Google service account: the key file a config points at; the emulator verifies its signatures.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    emu.google.registerServiceAccount(EMULATOR_GOOGLE_SERVICE_ACCOUNT, publicKey);
    const keyFile = join(files, 'google-service-account.json');
    await writeFile(keyFile, JSON.stringify({
      type: 'service_account', project_id: 'calendar-relay-emulator', private_key_id: 'emulator-key-1', private_key: privateKey,
      client_email: EMULATOR_GOOGLE_SERVICE_ACCOUNT, client_id: '100000000000000000001', token_uri: `${emu.url}/token`,
    }, null, 2), { mode: 0o600 });
    emu.google.registerRefreshToken(EMULATOR_REFRESH_GRANTS.google, { user: EMULATOR_USER });
    emu.graph.registerApp(EMULATOR_GRAPH_APP.clientId, EMULATOR_GRAPH_APP.clientSecret, EMULATOR_GRAPH_APP.tenantId);
    emu.graph.registerRefreshToken(EMULATOR_REFRESH_GRANTS.microsoft, { user: EMULATOR_USER, clientId: EMULATOR_GRAPH_APP.clientId });
    const googleToken = emu.google.issueAccessToken({ lifetimeSeconds: 30 * 86_400 });
    const graphToken = emu.graph.issueToken({ lifetimeS: 30 * 86_400 });

    let certFile: string | undefined;
    if (emu.tls) {
      certFile = resolve(certOut ?? join(files, 'emulator-cert.pem'));
      await writeFile(certFile, emu.tls.certPem);
    }
    const curl = certFile ? `curl --cacert ${certFile}` : 'curl';
    print('');
    if (rooms.length) print(`  Rooms (Google Directory resources + calendars, Microsoft 365 room mailboxes + places): ${rooms.join(', ')}`);
    if (certFile) {
      print(`  TLS certificate (self-signed):  ${certFile}`);
      print(`    trust it in Node:  NODE_EXTRA_CA_CERTS=${certFile} calendar-relay sync …   curl: ${curl} …`);
    }
    print(`  Google service account key:     ${keyFile}  (${EMULATOR_GOOGLE_SERVICE_ACCOUNT}; token_uri ${emu.url}/token)`);
    print(`  Google refresh token:           ${EMULATOR_REFRESH_GRANTS.google}  (acts for ${EMULATOR_USER}; any client id/secret)`);
    print(`  Google calendar "primary" exists (tokens naming no user); ${EMULATOR_USER} is the refresh token's primary`);
    print(`  Microsoft app (client credentials): tenantId ${EMULATOR_GRAPH_APP.tenantId}, clientId ${EMULATOR_GRAPH_APP.clientId}, clientSecret ${EMULATOR_GRAPH_APP.clientSecret}, authority ${emu.url}`);
    print(`  Microsoft refresh token:        ${EMULATOR_REFRESH_GRANTS.microsoft}  (delegated, ${EMULATOR_USER}, clientId ${EMULATOR_GRAPH_APP.clientId})`);
    print(`  Google access token (30 days):  ${googleToken}`);
    print(`  Graph access token (30 days):   ${graphToken}`);
    if (rooms.length) {
      const r = encodeURIComponent(rooms[0]);
      print(`  Try: ${curl} -H "Authorization: Bearer ${googleToken}" '${emu.url}/calendar/v3/calendars/${r}/events'`);
      print(`       ${curl} -H "Authorization: Bearer ${graphToken}" '${emu.url}/v1.0/users/${r}/events'`);
    }
    print('  Press Ctrl-C to stop.');
    deps.onStarted?.(emu);
    // The listening server keeps the process alive; main() only sets the exit code.
    return 0;
  };
}

export const emulatorCommand = makeEmulatorCommand();
