/**
 * Bridge configuration from three layers, later ones winning: an optional config file (YAML or
 * JSON), environment variables, command-line flags. Secrets in the file may be written as
 * `env:NAME` so the file itself can be committed without them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { INPUT_PRESETS, type InputPreset } from '../../core/input';
import { defaultSubscriptionsConfig, type SubscriptionsConfig } from './subscriptions';
import { allowListOf } from './safe-fetch';
import { SyncTargetConfigError, syncTargetOf } from './sync-target';

export interface SourceConfig {
  /** HMAC-SHA256 shared secret (X-Relay-Timestamp + X-Relay-Signature), or … */
  hmacSecret?: string;
  /** … a bearer token. Exactly one of the two. */
  bearerToken?: string;
  /** How JSON pushes are read (ICS pushes are always ICS). Default `auto`. */
  preset?: InputPreset;
  map?: Record<string, string>;
  defaultTimeZone?: string;
  /** Keep the valid items of a push that has invalid ones (default false: reject the whole push). */
  partial?: boolean;
  /** Where this source's diffs go; default: the bridge-wide `deliveryUrl`. */
  deliveryUrl?: string;
}

export interface OutboxConfig {
  pollMs: number;
  leaseMs: number;
  timeoutMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  batch: number;
}

export interface BridgeConfig {
  host: string;
  port: number;
  /** Base of the URLs handed out (`subscribeUrl`); default http://host:port. */
  publicUrl?: string;
  dataDir: string;
  /** PostgreSQL connection string; SQLite under dataDir when absent. */
  databaseUrl?: string;
  adminToken?: string;
  /** SHA-256 (hex) of the admin token generated at first start and kept in the store (main.ts); used when adminToken is not set. */
  adminTokenHash?: string;
  /** Largest request body in bytes (413 above it). */
  bodyLimit: number;
  /**
   * Requests allowed per feed token per clock-aligned window (429 + Retry-After beyond). `syncMs`
   * (default 1000): how often each process adds its counts to the store and reads everyone's back,
   * so every instance and worker on the database shares one budget (budget.ts); 0 = counted per
   * process (split between workers).
   */
  feedBudget: { requests: number; windowSec: number; syncMs?: number };
  /** How long a feed token's lookup (feed, current version) is cached in memory (ms; 0 = never). */
  feedCacheMs: number;
  /** Plain feed GETs answered on the socket before Node's HTTP parser (feed-socket.ts); false = every request through Node's HTTP server. */
  feedSocketPath: boolean;
  signatureToleranceSec: number;
  /** The n8n webhook URL diffs are delivered to. */
  deliveryUrl?: string;
  /** When set, deliveries carry X-Relay-Timestamp/X-Relay-Signature made with it. */
  deliverySecret?: string;
  outbox: OutboxConfig;
  /** Import subscriptions: polling, limits, the private-address allow-list, sync targets. */
  subscriptions: SubscriptionsConfig;
  /** Snapshot versions kept per webhook source and per subscription (the newest; older ones are deleted as new ones arrive). */
  keepSnapshots: number;
  /** Published versions kept per feed (at least 2, so a subscriber holding the previous head still gets an answer). */
  keepFeedVersions: number;
  sources: Record<string, SourceConfig>;
  logLevel: string;
  /** Names this process in logs and in the X-Relay-Instance delivery header. */
  instanceId: string;
  /** Processes serving HTTP (node:cluster, bridge/src/cluster.ts); 1 = this process alone. */
  workers: number;
}

/** `feedBudget.syncMs` when a configuration leaves it out (server.ts applies it to configs built in code). */
export const DEFAULT_BUDGET_SYNC_MS = 1000;

export class BridgeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BridgeConfigError';
  }
}

export function defaultConfig(): BridgeConfig {
  return {
    host: '127.0.0.1',
    port: 8787,
    dataDir: join(process.cwd(), '.calendar-relay-bridge'),
    bodyLimit: 10 * 1024 * 1024,
    feedBudget: { requests: 20, windowSec: 3600, syncMs: DEFAULT_BUDGET_SYNC_MS },
    feedCacheMs: 1000,
    feedSocketPath: true,
    signatureToleranceSec: 300,
    outbox: { pollMs: 500, leaseMs: 60_000, timeoutMs: 10_000, baseBackoffMs: 1000, maxBackoffMs: 5 * 60_000, batch: 16 },
    subscriptions: defaultSubscriptionsConfig(),
    keepSnapshots: 1,
    keepFeedVersions: 3,
    sources: {},
    logLevel: 'info',
    instanceId: `bridge-${process.pid}`,
    workers: 1,
  };
}

const FLAG_VALUES = ['config', 'host', 'port', 'public-url', 'data-dir', 'database-url', 'admin-token', 'delivery-url', 'body-limit', 'feed-budget', 'log-level', 'instance-id', 'workers'];

function envRef(v: unknown, where: string, env: NodeJS.ProcessEnv): unknown {
  if (typeof v !== 'string' || !v.startsWith('env:')) return v;
  const name = v.slice(4);
  const value = env[name];
  if (value === undefined || value === '') throw new BridgeConfigError(`${where}: environment variable ${name} is not set`);
  return value;
}

function intIn(name: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new BridgeConfigError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
  return n;
}

/** `20/3600` (requests per seconds) or `20/hour`. */
function budgetOf(v: unknown): { requests: number; windowSec: number; syncMs?: number } {
  if (v && typeof v === 'object') {
    const o = v as { requests?: unknown; windowSec?: unknown; syncMs?: unknown };
    const b: { requests: number; windowSec: number; syncMs?: number } = { requests: intIn('feedBudget.requests', o.requests, 1, 1e9), windowSec: intIn('feedBudget.windowSec', o.windowSec, 1, 86400 * 7) };
    if (o.syncMs !== undefined) b.syncMs = intIn('feedBudget.syncMs', o.syncMs, 0, 3600_000);
    return b;
  }
  const m = /^(\d+)\/(\d+|second|minute|hour|day)$/.exec(String(v));
  if (!m) throw new BridgeConfigError(`feed budget must look like 20/hour or 20/3600 (got ${JSON.stringify(v)})`);
  const units: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400 };
  return { requests: intIn('feed budget', m[1], 1, 1e9), windowSec: units[m[2]] ?? intIn('feed budget window', m[2], 1, 86400 * 7) };
}

function sourceOf(name: string, raw: unknown, env: NodeJS.ProcessEnv): SourceConfig {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new BridgeConfigError(`source name "${name}" may only use letters, digits, . _ -`);
  if (!raw || typeof raw !== 'object') throw new BridgeConfigError(`sources.${name} must be an object`);
  const o = raw as Record<string, unknown>;
  const s: SourceConfig = {};
  if (o.hmacSecret !== undefined) s.hmacSecret = String(envRef(o.hmacSecret, `sources.${name}.hmacSecret`, env));
  if (o.bearerToken !== undefined) s.bearerToken = String(envRef(o.bearerToken, `sources.${name}.bearerToken`, env));
  if ((s.hmacSecret === undefined) === (s.bearerToken === undefined)) throw new BridgeConfigError(`sources.${name} needs exactly one of hmacSecret or bearerToken`);
  if ((s.hmacSecret ?? s.bearerToken ?? '').length < 16) throw new BridgeConfigError(`sources.${name}: the secret must be at least 16 characters`);
  if (o.preset !== undefined) {
    if (!(INPUT_PRESETS as readonly unknown[]).includes(o.preset)) throw new BridgeConfigError(`sources.${name}.preset must be one of ${INPUT_PRESETS.join(', ')}`);
    s.preset = o.preset as InputPreset;
  }
  if (o.map !== undefined) s.map = o.map as Record<string, string>;
  if (o.defaultTimeZone !== undefined) s.defaultTimeZone = String(o.defaultTimeZone);
  if (o.partial !== undefined) s.partial = o.partial === true;
  if (o.deliveryUrl !== undefined) s.deliveryUrl = urlOf(`sources.${name}.deliveryUrl`, o.deliveryUrl);
  return s;
}

function urlOf(name: string, v: unknown): string {
  try {
    const u = new URL(String(v));
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
    return u.toString();
  } catch {
    throw new BridgeConfigError(`${name} must be an http(s) URL (got ${JSON.stringify(v)})`);
  }
}

/** Applies one layer (file object, env or flags, already as config keys) onto `c`. */
function apply(c: BridgeConfig, o: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const str = (k: string) => (o[k] === undefined ? undefined : String(envRef(o[k], k, env)));
  if (o.host !== undefined) c.host = String(o.host);
  if (o.port !== undefined) c.port = intIn('port', o.port, 0, 65535);
  if (o.publicUrl !== undefined) c.publicUrl = urlOf('publicUrl', o.publicUrl).replace(/\/$/, '');
  if (o.dataDir !== undefined) c.dataDir = String(o.dataDir);
  if (o.databaseUrl !== undefined) c.databaseUrl = str('databaseUrl');
  if (o.adminToken !== undefined) c.adminToken = str('adminToken');
  if (o.deliveryUrl !== undefined) c.deliveryUrl = urlOf('deliveryUrl', o.deliveryUrl);
  if (o.deliverySecret !== undefined) c.deliverySecret = str('deliverySecret');
  if (o.bodyLimit !== undefined) c.bodyLimit = intIn('bodyLimit', o.bodyLimit, 1024, 1024 * 1024 * 1024);
  if (o.feedBudget !== undefined) c.feedBudget = { ...c.feedBudget, ...budgetOf(o.feedBudget) }; // `20/hour` keeps syncMs
  if (o.feedCacheMs !== undefined) c.feedCacheMs = intIn('feedCacheMs', o.feedCacheMs, 0, 60_000);
  if (o.feedSocketPath !== undefined) {
    if (typeof o.feedSocketPath !== 'boolean') throw new BridgeConfigError(`feedSocketPath must be true or false, not ${JSON.stringify(o.feedSocketPath)}`);
    c.feedSocketPath = o.feedSocketPath;
  }
  if (o.signatureToleranceSec !== undefined) c.signatureToleranceSec = intIn('signatureToleranceSec', o.signatureToleranceSec, 1, 86400);
  if (o.logLevel !== undefined) c.logLevel = String(o.logLevel);
  if (o.keepSnapshots !== undefined) c.keepSnapshots = intIn('keepSnapshots', o.keepSnapshots, 1, 1_000_000);
  if (o.keepFeedVersions !== undefined) c.keepFeedVersions = intIn('keepFeedVersions', o.keepFeedVersions, 2, 1_000_000);
  if (o.instanceId !== undefined) c.instanceId = String(o.instanceId);
  if (o.workers !== undefined) c.workers = intIn('workers', o.workers, 1, 64);
  if (o.outbox !== undefined) {
    const ob = o.outbox as Record<string, unknown>;
    for (const k of Object.keys(c.outbox) as Array<keyof OutboxConfig>) if (ob[k] !== undefined) c.outbox[k] = intIn(`outbox.${k}`, ob[k], k === 'batch' ? 1 : 0, 24 * 3600_000);
  }
  if (o.subscriptions !== undefined) {
    const sb = o.subscriptions as Record<string, unknown>;
    if (!sb || typeof sb !== 'object') throw new BridgeConfigError('subscriptions must be an object');
    const limits: Record<string, [number, number]> = { minIntervalSec: [10, 86400], defaultIntervalSec: [10, 7 * 86400], pollMs: [10, 3600_000], leaseMs: [1000, 24 * 3600_000], batch: [1, 100], timeoutMs: [100, 600_000], maxBytes: [1024, 1024 * 1024 * 1024], budgetPerHour: [1, 3600], leaseWaitMs: [0, 600_000] };
    for (const [k, [min, max]] of Object.entries(limits)) if (sb[k] !== undefined) (c.subscriptions as unknown as Record<string, number>)[k] = intIn(`subscriptions.${k}`, sb[k], min, max);
    if (sb.allowPrivate !== undefined) {
      const list = typeof sb.allowPrivate === 'string' ? sb.allowPrivate.split(',').map((x) => x.trim()).filter(Boolean) : sb.allowPrivate;
      if (!Array.isArray(list)) throw new BridgeConfigError('subscriptions.allowPrivate must be a list of CIDR ranges');
      try {
        allowListOf(list.map(String));
      } catch (err) {
        throw new BridgeConfigError(`subscriptions.allowPrivate: ${(err as Error).message}`);
      }
      c.subscriptions.allowPrivate = list.map(String);
    }
    if (sb.syncTargets !== undefined) {
      if (!sb.syncTargets || typeof sb.syncTargets !== 'object' || Array.isArray(sb.syncTargets)) throw new BridgeConfigError('subscriptions.syncTargets must be an object of name → target');
      const targets: SubscriptionsConfig['syncTargets'] = {};
      for (const [name, raw] of Object.entries(sb.syncTargets as Record<string, unknown>)) {
        try {
          targets[name] = syncTargetOf(name, raw, (v, where) => envRef(v, where, env));
        } catch (err) {
          if (err instanceof SyncTargetConfigError) throw new BridgeConfigError(err.message);
          throw err;
        }
      }
      c.subscriptions.syncTargets = targets;
    }
    if (c.subscriptions.defaultIntervalSec < c.subscriptions.minIntervalSec) c.subscriptions.defaultIntervalSec = c.subscriptions.minIntervalSec;
  }
  if (o.sources !== undefined) {
    if (!o.sources || typeof o.sources !== 'object') throw new BridgeConfigError('sources must be an object of name → settings');
    for (const [name, raw] of Object.entries(o.sources as Record<string, unknown>)) c.sources[name] = sourceOf(name, raw, env);
  }
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, ch: string) => ch.toUpperCase());
}

/**
 * Builds the configuration from `argv` (flags), `env` and the file named by `--config` or
 * CALENDAR_RELAY_BRIDGE_CONFIG.
 */
export function loadBridgeConfig(argv: string[], env: NodeJS.ProcessEnv): BridgeConfig {
  const flags: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new BridgeConfigError(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    if (!FLAG_VALUES.includes(name)) throw new BridgeConfigError(`unknown option --${name} (options: ${FLAG_VALUES.map((f) => '--' + f).join(' ')})`);
    const value = eq !== -1 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new BridgeConfigError(`--${name} needs a value`);
    flags[camel(name)] = value;
  }
  const c = defaultConfig();
  const file = (flags.config as string | undefined) ?? env.CALENDAR_RELAY_BRIDGE_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new BridgeConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new BridgeConfigError(`config file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new BridgeConfigError(`config file ${file} must hold an object`);
    apply(c, obj as Record<string, unknown>, env);
  }
  const fromEnv: Record<string, unknown> = {};
  const envMap: Record<string, string> = {
    CALENDAR_RELAY_BRIDGE_HOST: 'host', CALENDAR_RELAY_BRIDGE_PORT: 'port', CALENDAR_RELAY_BRIDGE_PUBLIC_URL: 'publicUrl',
    CALENDAR_RELAY_BRIDGE_DATA_DIR: 'dataDir', DATABASE_URL: 'databaseUrl', CALENDAR_RELAY_ADMIN_TOKEN: 'adminToken',
    CALENDAR_RELAY_DELIVERY_URL: 'deliveryUrl', CALENDAR_RELAY_DELIVERY_SECRET: 'deliverySecret', CALENDAR_RELAY_BRIDGE_LOG_LEVEL: 'logLevel',
    CALENDAR_RELAY_BRIDGE_WORKERS: 'workers',
  };
  if (env.CALENDAR_RELAY_FETCH_ALLOW) fromEnv.subscriptions = { allowPrivate: env.CALENDAR_RELAY_FETCH_ALLOW };
  for (const [k, key] of Object.entries(envMap)) if (env[k] !== undefined && env[k] !== '') fromEnv[key] = env[k];
  apply(c, fromEnv, env);
  delete flags.config;
  apply(c, flags, env);
  return c;
}
