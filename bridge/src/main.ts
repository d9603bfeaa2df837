/**
 * Starting the bridge: `calendar-relay bridge [flags]`, `npx calendar-relay-bridge [flags]` or
 * `npm run bridge -- [flags]`. Runs in the foreground until SIGINT/SIGTERM, then finishes
 * in-flight requests and deliveries and closes the store.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { BridgeConfigError, loadBridgeConfig, type BridgeConfig } from './config';
import { createLogger } from './logging';
import { openStore } from './store';
import { createBridge, type Bridge } from './server';
import { tokenHash } from './tokens';
import { ROLE_ENV, runPrimary, workerPeers, type Peers } from './cluster';

export const BRIDGE_USAGE = `usage: calendar-relay bridge [options]   (also: npx calendar-relay-bridge, npm run bridge --)
  --config <file.yaml|json>   sources, delivery URL, budgets (env CALENDAR_RELAY_BRIDGE_CONFIG)
  --host <addr> --port <N>    listen address (default 127.0.0.1:8787)
  --public-url <url>          base of subscribe URLs handed out (default the listen address)
  --data-dir <dir>            SQLite file location (default ./.calendar-relay-bridge)
  --database-url <url>        PostgreSQL instead of SQLite (env DATABASE_URL)
  --admin-token <token>       bearer token of /api (env CALENDAR_RELAY_ADMIN_TOKEN; else generated at first start, stored hashed)
  --delivery-url <url>        n8n webhook URL that receives diffs (env CALENDAR_RELAY_DELIVERY_URL)
  --feed-budget <n/window>    requests per feed token, e.g. 20/hour (default)
  --workers <N>               HTTP worker processes (default 1; env CALENDAR_RELAY_BRIDGE_WORKERS)
  --body-limit <bytes> --log-level <level> --instance-id <name>
See docs/bridge.md.`;

export interface BridgeIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface StartOptions {
  logDestination?: DestinationStream;
  /** Set in a `workers: N` worker (cluster.ts). */
  peers?: Peers;
  /** Start the outbox dispatcher and subscription poller (default true). */
  background?: boolean;
}

/**
 * Opens the store, builds the server and starts listening and delivering. Without a configured
 * admin token, the first start generates one and stores only its SHA-256 (`generatedAdminToken`
 * is then the token, to be shown once); later starts use the stored hash.
 */
export async function startBridge(config: BridgeConfig, opts: StartOptions = {}): Promise<Bridge & { url: string; generatedAdminToken?: string }> {
  const log = createLogger(config.logLevel, opts.logDestination);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  let generatedAdminToken: string | undefined;
  if (!config.adminToken) {
    const candidate = randomBytes(24).toString('base64url');
    const stored = await store.initSetting(ADMIN_DIGEST_SETTING, tokenHash(candidate));
    if (stored === tokenHash(candidate)) generatedAdminToken = candidate;
    config.adminTokenHash = stored;
  }
  const bridge = createBridge(config, { store, log, peers: opts.peers, background: opts.background });
  const url = await bridge.listen();
  return Object.assign(bridge, { url, generatedAdminToken });
}

const ADMIN_DIGEST_SETTING = ['admin', 'token', 'sha256'].join('_');

export async function runBridge(argv: string[], io: BridgeIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(BRIDGE_USAGE + '\n');
    return 0;
  }
  let config: BridgeConfig;
  try {
    config = loadBridgeConfig(argv, io.env ?? process.env);
  } catch (err) {
    if (err instanceof BridgeConfigError) {
      io.stderr(`calendar-relay bridge: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (config.workers > 1 && cluster.isPrimary) {
    io.stdout(`calendar-relay bridge: starting ${config.workers} worker processes (one also runs deliveries and subscription polling)\n`);
    return runPrimary(config.workers, io);
  }
  const role = cluster.isWorker ? process.env[ROLE_ENV] : undefined;
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  try {
    bridge = await startBridge(config, cluster.isWorker ? { peers: workerPeers(config.workers), background: role === 'background' } : {});
  } catch (err) {
    // The IPC channel would keep a failed worker alive; without it the worker exits and the primary sees it.
    if (cluster.isWorker && process.connected) process.disconnect();
    throw err;
  }
  if (role !== 'serve') io.stdout(`calendar-relay bridge listening on ${bridge.url} (store: ${config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`}; sources: ${Object.keys(config.sources).join(', ') || 'none'})\n`);
  // Printed once, never logged; only its hash is stored.
  if (bridge.generatedAdminToken) io.stdout(`admin token generated and stored hashed, shown only this once (set CALENDAR_RELAY_ADMIN_TOKEN to choose your own): ${bridge.generatedAdminToken}\n`);
  else if (!config.adminToken && role !== 'serve') io.stdout('admin token: the one generated at first start (stored hashed; set CALENDAR_RELAY_ADMIN_TOKEN to use your own)\n');
  await new Promise<void>((resolve) => {
    const stop = () => {
      // A worker keeps ignoring signals while it closes: Ctrl-C reaches it and the primary's SIGTERM follows.
      if (!cluster.isWorker) {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (cluster.isWorker) process.once('disconnect', stop); // the primary is gone
  });
  await bridge.close();
  if (cluster.isWorker && process.connected) process.disconnect?.();
  return 0;
}
