/**
 * relay.yaml: the configuration of `calendar-relay sync` (format in docs/config.md).
 *
 * Loading is strict on purpose: unknown keys, wrong types and impossible combinations are all
 * collected and reported together, each with its path in the file (`sources[1].preset: must be
 * one of …`), so a typo never silently turns into "sync nothing" or "sync into the wrong room".
 * Secrets come from the environment through `${NAME}` (or `${NAME:-default}`) in any string value,
 * so a config can be committed. Relative paths (source files, key files, the state file) are
 * resolved against the config file's directory.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { INPUT_PRESETS, type InputPreset } from '../core/input';
import type { FieldMap } from '../core/json';
import type { RoutingConfig, RoutingField } from '../core/routing';
import { isKnownTimeZone } from '../core/time';

export interface ConfigIssue {
  /** Where in the file: `sources[1].preset`, `target.auth`, `(file)`. */
  path: string;
  message: string;
}

/** The config is unusable; every problem found is listed (the CLI's exit code 2). */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`${file}: ${issues.length} problem(s) in the config:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface RequestBudget {
  /** At most this many HTTP requests … */
  requests: number;
  /** … in any window of this many minutes (CKalender: 20 per 60). */
  perMinutes: number;
}

export interface SourceConfig {
  id: string;
  /** http(s) URL, or … */
  url?: string;
  /** … an absolute path (resolved against the config's directory). */
  file?: string;
  preset: InputPreset;
  map?: Partial<FieldMap>;
  headers?: Record<string, string>;
  budget?: RequestBudget;
  defaultTimeZone?: string;
  /** Per request, whole body included. Default 30 s. */
  timeoutMs?: number;
  /** Larger bodies are refused. Default 20 MB. */
  maxBytes?: number;
}

// The target's shape lives with its factory (providers/target.ts), shared with the bridge.
import type { TargetConfig, GoogleAuthConfig, MicrosoftAuthConfig, CalDavAuthConfig } from '../providers/target';
export type { TargetConfig, GoogleAuthConfig, MicrosoftAuthConfig, CalDavAuthConfig };

export interface RelayConfig {
  /** The file it was loaded from (absolute), and its directory. */
  file: string;
  baseDir: string;
  syncId: string;
  target: TargetConfig;
  sources: SourceConfig[];
  routing: RoutingConfig;
  window: { pastDays: number; futureDays: number };
  identity: 'uid' | 'content';
  /** Target copies of events that routing no longer maps to a room: kept (default) or deleted (routing.unmapped). */
  unmapped: 'keep' | 'delete';
  /** maxDeletes undefined: the engine's default (core/guards.ts DEFAULT_MAX_DELETES), the same for every caller. */
  guards: { maxDeletes?: { count?: number; percent?: number; floor?: number }; allowEmptySource: boolean; allowShrink: boolean };
  /** Zone in which floating times and all-day dates are placed for the window. Default UTC. */
  floatingTimeZone?: string;
  /** Where conditional-GET validators, request budgets and last good bodies are kept between runs. */
  stateFile?: string;
}

type Env = Record<string, string | undefined>;


/** Reads and validates a config file. Throws ConfigError (with every problem) or an I/O error. */
export async function loadConfigFile(file: string, env: Env = process.env): Promise<RelayConfig> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{ path: '(file)', message: code === 'ENOENT' ? 'no such file' : (err as Error).message }]);
  }
  return parseConfig(text, { file: abs, env });
}

/** Parses and validates config text (YAML, so JSON works too). */
export function parseConfig(text: string, opts: { file: string; env?: Env }): RelayConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(opts.file, doc.errors.map((e) => ({ path: `(yaml line ${e.linePos?.[0]?.line ?? '?'})`, message: e.message.split('\n')[0] })));
  }
  const v = new Validator(opts.env ?? process.env, dirname(resolve(opts.file)));
  const config = v.config(doc.toJS({ maxAliasCount: 100 }), resolve(opts.file));
  if (v.issues.length || !config) throw new ConfigError(opts.file, v.issues);
  return config;
}

// --- validation ---------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

class Validator {
  readonly issues: ConfigIssue[] = [];
  constructor(
    private readonly env: Env,
    private readonly baseDir: string,
  ) {}

  private fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  /** Substitutes `${NAME}` / `${NAME:-default}`; a missing variable is an issue at `path`. */
  private substitute(path: string, s: string): string | undefined {
    let ok = true;
    const out = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) => {
      const value = this.env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      ok = false;
      this.fail(path, `environment variable ${name} is not set`);
      return '';
    });
    return ok ? out : undefined;
  }

  private object(path: string, x: unknown, allowed: string[]): Obj | undefined {
    if (!x || typeof x !== 'object' || Array.isArray(x)) return this.fail(path, `must be a mapping (key: value), got ${describe(x)}`);
    const o = x as Obj;
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(join(path, k), `unknown key; expected one of ${allowed.join(', ')}`);
    return o;
  }

  private string(path: string, x: unknown, opts: { required?: boolean; pattern?: RegExp; patternHint?: string } = {}): string | undefined {
    if (x === undefined || x === null) return opts.required ? this.fail(path, 'is required') : undefined;
    if (typeof x !== 'string' && typeof x !== 'number') return this.fail(path, `must be a string, got ${describe(x)}`);
    const s = this.substitute(path, String(x));
    if (s === undefined) return undefined;
    if (opts.required && s.trim() === '') return this.fail(path, 'must not be empty');
    if (opts.pattern && !opts.pattern.test(s)) return this.fail(path, opts.patternHint ?? `does not match ${opts.pattern}`);
    return s;
  }

  private oneOf<T extends string>(path: string, x: unknown, values: readonly T[], fallback?: T): T | undefined {
    if (x === undefined || x === null) return fallback ?? this.fail(path, `is required (one of ${values.join(', ')})`);
    const s = typeof x === 'string' ? this.substitute(path, x) : undefined;
    if (s === undefined && typeof x === 'string') return undefined;
    if (!(values as readonly string[]).includes(s as string)) return this.fail(path, `must be one of ${values.join(', ')} (got ${describe(x)})`);
    return s as T;
  }

  private number(path: string, x: unknown, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    if (x === undefined || x === null) return undefined;
    const n = typeof x === 'string' ? Number(this.substitute(path, x)) : x;
    if (typeof n !== 'number' || !Number.isFinite(n)) return this.fail(path, `must be a number, got ${describe(x)}`);
    if (opts.integer && !Number.isInteger(n)) return this.fail(path, `must be a whole number, got ${n}`);
    if (opts.min !== undefined && n < opts.min) return this.fail(path, `must be at least ${opts.min}, got ${n}`);
    if (opts.max !== undefined && n > opts.max) return this.fail(path, `must be at most ${opts.max}, got ${n}`);
    return n;
  }

  private boolean(path: string, x: unknown): boolean | undefined {
    if (x === undefined || x === null) return undefined;
    if (typeof x === 'boolean') return x;
    if (x === 'true' || x === 'false') return x === 'true';
    return this.fail(path, `must be true or false, got ${describe(x)}`);
  }

  private url(path: string, x: unknown, required = false): string | undefined {
    const s = this.string(path, x, { required });
    if (s === undefined) return undefined;
    try {
      const u = new URL(s);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return this.fail(path, `must be an http(s) URL, got "${s}"`);
    } catch {
      return this.fail(path, `is not a valid URL: "${s}"`);
    }
    return s;
  }

  private timeZone(path: string, x: unknown): string | undefined {
    const s = this.string(path, x);
    if (s === undefined) return undefined;
    if (!isKnownTimeZone(s)) return this.fail(path, `unknown IANA time zone "${s}" (e.g. Europe/Berlin)`);
    return s;
  }

  private filePath(path: string, x: unknown, required = false): string | undefined {
    const s = this.string(path, x, { required });
    if (s === undefined) return undefined;
    return isAbsolute(s) ? s : resolve(this.baseDir, s);
  }

  private stringMap(path: string, x: unknown): Record<string, string> | undefined {
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'object' || Array.isArray(x)) return this.fail(path, `must be a mapping of name: value, got ${describe(x)}`);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(x as Obj)) {
      const s = this.string(join(path, k), val, { required: true });
      if (s !== undefined) out[k] = s;
    }
    return out;
  }

  config(x: unknown, file: string): RelayConfig | undefined {
    const o = this.object('(top level)', x, ['syncId', 'target', 'sources', 'routing', 'window', 'identity', 'guards', 'floatingTimeZone', 'stateFile']);
    if (!o) return undefined;
    const syncId = this.string('syncId', o.syncId, { required: true, pattern: ID_PATTERN, patternHint: 'must be 1–64 letters, digits, ".", "_" or "-" (it is stamped on every event this sync writes)' });
    const target = this.target(o.target);
    const sources = this.sources(o.sources);
    const routing = this.routing('routing', o.routing);
    const unmapped = o.routing && typeof o.routing === 'object' ? this.oneOf('routing.unmapped', (o.routing as Obj).unmapped, ['keep', 'delete'] as const, 'keep') : 'keep';
    const window = this.window(o.window);
    const identity = this.oneOf('identity', o.identity, ['uid', 'content'] as const, 'uid');
    const guards = this.guards(o.guards);
    const floatingTimeZone = this.timeZone('floatingTimeZone', o.floatingTimeZone);
    const stateFile = this.filePath('stateFile', o.stateFile);
    if (this.issues.length || !syncId || !target || !sources || !routing || !window || !identity || !guards || !unmapped) return undefined;
    return {
      file, baseDir: this.baseDir, syncId, target, sources, routing, window, identity, unmapped, guards,
      ...(floatingTimeZone ? { floatingTimeZone } : {}), ...(stateFile ? { stateFile } : {}),
    };
  }

  private target(x: unknown): TargetConfig | undefined {
    if (x === undefined) return this.fail('target', 'is required (provider: google | microsoft | caldav, and auth)');
    const o = this.object('target', x, ['provider', 'rootUrl', 'directoryRootUrl', 'baseUrl', 'defaultTimeZone', 'timeZoneStyle', 'listMode', 'auth']);
    if (!o) return undefined;
    const provider = this.oneOf('target.provider', o.provider, ['google', 'microsoft', 'caldav'] as const);
    if (provider === 'caldav') return this.caldavTarget(o);
    const defaultTimeZone = this.timeZone('target.defaultTimeZone', o.defaultTimeZone);
    if (provider === 'google') {
      for (const k of ['baseUrl', 'timeZoneStyle']) if (o[k] !== undefined) this.fail(`target.${k}`, 'is a Microsoft setting; Google uses rootUrl');
      const rootUrl = this.url('target.rootUrl', o.rootUrl);
      const directoryRootUrl = this.url('target.directoryRootUrl', o.directoryRootUrl);
      const listMode = this.oneOf('target.listMode', o.listMode, ['full', 'incremental'] as const, 'full');
      const auth = this.googleAuth(o.auth);
      if (!auth || !listMode) return undefined;
      return {
        provider, auth, ...(rootUrl ? { rootUrl } : {}), ...(directoryRootUrl ? { directoryRootUrl } : {}), ...(defaultTimeZone ? { defaultTimeZone } : {}),
        ...(listMode !== 'full' ? { listMode } : {}),
      };
    }
    if (provider === 'microsoft') {
      for (const k of ['rootUrl', 'directoryRootUrl']) if (o[k] !== undefined) this.fail(`target.${k}`, 'is a Google setting; Microsoft uses baseUrl');
      if (o.listMode !== undefined) this.fail('target.listMode', 'is a Google setting (Microsoft 365 always lists the owned events)');
      const baseUrl = this.url('target.baseUrl', o.baseUrl);
      const timeZoneStyle = this.oneOf('target.timeZoneStyle', o.timeZoneStyle, ['iana', 'windows'] as const, 'iana');
      // Graph all-day events are midnight-to-midnight in a named zone; in any zone but the rooms'
      // own they show up shifted across two days. Unset, the provider reads each mailbox's own zone
      // (mailboxSettings.timeZone, needs MailboxSettings.Read); set, it wins without a lookup.
      const auth = this.microsoftAuth(o.auth);
      if (!auth) return undefined;
      return { provider, auth, ...(baseUrl ? { baseUrl } : {}), ...(timeZoneStyle ? { timeZoneStyle } : {}), ...(defaultTimeZone ? { defaultTimeZone } : {}) };
    }
    return undefined;
  }

  private caldavTarget(o: Record<string, unknown>): TargetConfig | undefined {
    for (const k of ['rootUrl', 'directoryRootUrl', 'timeZoneStyle', 'defaultTimeZone']) if (o[k] !== undefined) this.fail(`target.${k}`, 'is not a CalDAV setting (CalDAV uses baseUrl, listMode, auth)');
    const baseUrl = this.url('target.baseUrl', o.baseUrl, true);
    const listMode = this.oneOf('target.listMode', o.listMode, ['full', 'incremental'] as const, 'full');
    const p = 'target.auth';
    const hint = 'needs username + password (basic, e.g. an app password), or bearerToken, or none: true';
    let auth: CalDavAuthConfig | undefined;
    if (o.auth === undefined) this.fail(p, `is required: ${hint}`);
    else {
      const a = this.object(p, o.auth, ['username', 'password', 'bearerToken', 'none']);
      if (a) {
        const kinds = [a.username !== undefined || a.password !== undefined ? 'username/password' : '', a.bearerToken !== undefined ? 'bearerToken' : '', a.none === true ? 'none' : ''].filter(Boolean);
        if (kinds.length !== 1) this.fail(p, kinds.length ? `has ${kinds.join(' and ')}: choose one (${hint})` : hint);
        else if (kinds[0] === 'bearerToken') {
          const token = this.string(`${p}.bearerToken`, a.bearerToken, { required: true });
          if (token) auth = { kind: 'bearer', token };
        } else if (kinds[0] === 'none') auth = { kind: 'none' };
        else {
          const username = this.string(`${p}.username`, a.username, { required: true, pattern: /^[^:]*$/, patternHint: 'must not contain ":" (HTTP basic auth)' });
          const password = this.string(`${p}.password`, a.password, { required: true });
          if (username !== undefined && password !== undefined) auth = { kind: 'basic', username, password };
        }
      }
    }
    if (!baseUrl || !auth || !listMode) return undefined;
    return { provider: 'caldav', baseUrl, auth, ...(listMode !== 'full' ? { listMode } : {}) };
  }

  private googleAuth(x: unknown): GoogleAuthConfig | undefined {
    const p = 'target.auth';
    const hint = 'needs one of: serviceAccountKeyFile (+ subject), refreshToken + clientId + clientSecret, or accessToken';
    if (x === undefined) return this.fail(p, `is required: ${hint}`);
    const o = this.object(p, x, ['serviceAccountKeyFile', 'subject', 'refreshToken', 'clientId', 'clientSecret', 'accessToken', 'tokenUrl']);
    if (!o) return undefined;
    const kinds = ['serviceAccountKeyFile', 'refreshToken', 'accessToken'].filter((k) => o[k] !== undefined);
    if (kinds.length !== 1) return this.fail(p, kinds.length ? `has ${kinds.join(' and ')}: choose one (${hint})` : hint);
    const tokenUrl = this.url(`${p}.tokenUrl`, o.tokenUrl);
    const extra = tokenUrl ? { tokenUrl } : {};
    if (kinds[0] === 'serviceAccountKeyFile') {
      const keyFile = this.filePath(`${p}.serviceAccountKeyFile`, o.serviceAccountKeyFile, true);
      const subject = this.string(`${p}.subject`, o.subject);
      for (const k of ['clientId', 'clientSecret']) if (o[k] !== undefined) this.fail(`${p}.${k}`, 'is not used with serviceAccountKeyFile');
      return keyFile ? { kind: 'serviceAccount', serviceAccountKeyFile: keyFile, ...(subject ? { subject } : {}), ...extra } : undefined;
    }
    if (kinds[0] === 'refreshToken') {
      const refreshToken = this.string(`${p}.refreshToken`, o.refreshToken, { required: true });
      const clientId = this.string(`${p}.clientId`, o.clientId, { required: true });
      const clientSecret = this.string(`${p}.clientSecret`, o.clientSecret, { required: true });
      if (o.subject !== undefined) this.fail(`${p}.subject`, 'is only used with serviceAccountKeyFile');
      return refreshToken && clientId && clientSecret ? { kind: 'refreshToken', refreshToken, clientId, clientSecret, ...extra } : undefined;
    }
    const accessToken = this.string(`${p}.accessToken`, o.accessToken, { required: true });
    return accessToken ? { kind: 'accessToken', accessToken } : undefined;
  }

  private microsoftAuth(x: unknown): MicrosoftAuthConfig | undefined {
    const p = 'target.auth';
    const hint = 'needs one of: tenantId + clientId + clientSecret (app-only), tenantId + clientId + refreshToken (delegated), or accessToken';
    if (x === undefined) return this.fail(p, `is required: ${hint}`);
    const o = this.object(p, x, ['tenantId', 'clientId', 'clientSecret', 'refreshToken', 'accessToken', 'authority']);
    if (!o) return undefined;
    const authority = this.url(`${p}.authority`, o.authority);
    const extra = authority ? { authority } : {};
    if (o.accessToken !== undefined) {
      for (const k of ['tenantId', 'clientId', 'clientSecret', 'refreshToken']) if (o[k] !== undefined) this.fail(`${p}.${k}`, 'is not used with accessToken');
      const accessToken = this.string(`${p}.accessToken`, o.accessToken, { required: true });
      return accessToken ? { kind: 'accessToken', accessToken } : undefined;
    }
    if (o.tenantId === undefined && o.clientId === undefined) return this.fail(p, hint);
    const tenantId = this.string(`${p}.tenantId`, o.tenantId, { required: true });
    const clientId = this.string(`${p}.clientId`, o.clientId, { required: true });
    if (o.refreshToken !== undefined) {
      const refreshToken = this.string(`${p}.refreshToken`, o.refreshToken, { required: true });
      const clientSecret = this.string(`${p}.clientSecret`, o.clientSecret);
      return tenantId && clientId && refreshToken ? { kind: 'refreshToken', tenantId, clientId, refreshToken, ...(clientSecret ? { clientSecret } : {}), ...extra } : undefined;
    }
    const clientSecret = this.string(`${p}.clientSecret`, o.clientSecret, { required: true });
    return tenantId && clientId && clientSecret ? { kind: 'clientCredentials', tenantId, clientId, clientSecret, ...extra } : undefined;
  }

  private sources(x: unknown): SourceConfig[] | undefined {
    if (x === undefined) return this.fail('sources', 'is required: a list of sources (each with id and url or file)');
    if (!Array.isArray(x)) return this.fail('sources', `must be a list, got ${describe(x)}`);
    if (!x.length) return this.fail('sources', 'must list at least one source');
    const out: SourceConfig[] = [];
    const seen = new Map<string, number>();
    x.forEach((item, i) => {
      const s = this.source(`sources[${i}]`, item);
      if (!s) return;
      const before = seen.get(s.id);
      if (before !== undefined) this.fail(`sources[${i}].id`, `"${s.id}" is already used by sources[${before}] (ids must be unique: they are part of every event's key)`);
      else seen.set(s.id, i);
      out.push(s);
    });
    return out.length === x.length ? out : undefined;
  }

  private source(p: string, x: unknown): SourceConfig | undefined {
    const o = this.object(p, x, ['id', 'url', 'file', 'preset', 'map', 'headers', 'budget', 'defaultTimeZone', 'timeoutMs', 'maxBytes']);
    if (!o) return undefined;
    const before = this.issues.length;
    const id = this.string(`${p}.id`, o.id, { required: true, pattern: ID_PATTERN, patternHint: 'must be 1–64 letters, digits, ".", "_" or "-"' });
    if (o.url !== undefined && o.file !== undefined) this.fail(p, 'has both url and file: choose one');
    if (o.url === undefined && o.file === undefined) this.fail(p, 'needs url (http/https) or file');
    const url = this.url(`${p}.url`, o.url);
    const file = this.filePath(`${p}.file`, o.file);
    const preset = this.oneOf(`${p}.preset`, o.preset, INPUT_PRESETS, 'auto');
    const map = this.fieldMap(`${p}.map`, o.map);
    if (map && preset && (preset === 'ics' || preset === 'caldn')) this.fail(`${p}.map`, `is not used by preset ${preset} (only learningspace, sonderplan, generic and auto-detected JSON)`);
    if (preset === 'generic' && (!map || !map.id || !map.title || !map.start)) this.fail(`${p}.map`, 'preset generic needs a map with at least id, title and start (dot paths into each item)');
    const headers = this.stringMap(`${p}.headers`, o.headers);
    if (headers && file) this.fail(`${p}.headers`, 'only apply to url sources');
    const budget = this.budget(`${p}.budget`, o.budget);
    if (budget && file) this.fail(`${p}.budget`, 'only applies to url sources');
    const defaultTimeZone = this.timeZone(`${p}.defaultTimeZone`, o.defaultTimeZone);
    const timeoutMs = this.number(`${p}.timeoutMs`, o.timeoutMs, { min: 100, max: 600_000, integer: true });
    const maxBytes = this.number(`${p}.maxBytes`, o.maxBytes, { min: 1, integer: true });
    if (this.issues.length > before || !id || !preset) return undefined;
    return {
      id, preset,
      ...(url ? { url } : {}), ...(file ? { file } : {}), ...(map ? { map } : {}), ...(headers ? { headers } : {}), ...(budget ? { budget } : {}),
      ...(defaultTimeZone ? { defaultTimeZone } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}),
    };
  }

  private fieldMap(p: string, x: unknown): Partial<FieldMap> | undefined {
    if (x === undefined || x === null) return undefined;
    const keys = ['items', 'id', 'title', 'start', 'end', 'duration', 'timeZone', 'location', 'room', 'status', 'description', 'allDay', 'url', 'categories',
      'organizerName', 'organizerEmail', 'transparency', 'sequence', 'created', 'lastModified'];
    const o = this.object(p, x, keys);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) {
      if (!keys.includes(k)) continue;
      const s = this.string(join(p, k), v);
      if (s !== undefined) out[k] = s;
    }
    return out as Partial<FieldMap>;
  }

  private budget(p: string, x: unknown): RequestBudget | undefined {
    if (x === undefined || x === null) return undefined;
    const o = this.object(p, x, ['requests', 'perMinutes']);
    if (!o) return undefined;
    if (o.requests === undefined) this.fail(`${p}.requests`, 'is required (e.g. 20)');
    if (o.perMinutes === undefined) this.fail(`${p}.perMinutes`, 'is required (e.g. 60)');
    const requests = this.number(`${p}.requests`, o.requests, { min: 1, integer: true });
    const perMinutes = this.number(`${p}.perMinutes`, o.perMinutes, { min: 1 });
    return requests !== undefined && perMinutes !== undefined ? { requests, perMinutes } : undefined;
  }

  private routing(p: string, x: unknown): RoutingConfig | undefined {
    if (x === undefined) return this.fail(p, 'is required: either target (a fixed calendar) or by + map (+ default)');
    const o = this.object(p, x, ['target', 'by', 'map', 'match', 'default', 'unmapped']);
    if (!o) return undefined;
    const before = this.issues.length;
    const target = this.calendars(`${p}.target`, o.target);
    const fallback = this.calendars(`${p}.default`, o.default);
    const match = this.oneOf(`${p}.match`, o.match, ['exact', 'contains'] as const, 'exact');
    if (target) {
      for (const k of ['by', 'map', 'default', 'match', 'unmapped']) if (o[k] !== undefined) this.fail(`${p}.${k}`, 'is not used with a fixed target (every event goes to target)');
      return this.issues.length > before ? undefined : { target };
    }
    if (o.by === undefined) return this.fail(p, 'needs either target (a fixed calendar) or by (location | rooms | {xProp: NAME} | {path: a.b}) with a map');
    const by = this.routingField(`${p}.by`, o.by);
    let map: Record<string, string | string[]> | undefined;
    if (o.map !== undefined) {
      if (!o.map || typeof o.map !== 'object' || Array.isArray(o.map)) this.fail(`${p}.map`, `must be a mapping of value: calendar id(s), got ${describe(o.map)}`);
      else {
        map = {};
        for (const [k, v] of Object.entries(o.map as Obj)) {
          const c = this.calendars(join(`${p}.map`, k), v, true);
          if (c) map[k] = c;
        }
      }
    }
    if (!map && !fallback) this.fail(p, 'routing by a field needs a map (value: calendar id) or a default');
    if (this.issues.length > before || !by) return undefined;
    return { by, ...(map ? { map } : {}), ...(fallback ? { default: fallback } : {}), ...(match && match !== 'exact' ? { match } : {}) };
  }

  private calendars(p: string, x: unknown, required = false): string | string[] | undefined {
    if (x === undefined || x === null) return required ? this.fail(p, 'needs a calendar id (or a list of them)') : undefined;
    if (Array.isArray(x)) {
      if (!x.length) return this.fail(p, 'must name at least one calendar id');
      const out = x.map((c, i) => this.string(`${p}[${i}]`, c, { required: true }));
      return out.every((c): c is string => c !== undefined) ? out : undefined;
    }
    return this.string(p, x, { required: true });
  }

  private routingField(p: string, x: unknown): RoutingField | undefined {
    if (x === 'location' || x === 'rooms') return { kind: x };
    if (typeof x === 'string') return this.fail(p, `must be location, rooms, {xProp: NAME} or {path: dot.path}, got "${x}"`);
    const o = this.object(p, x, ['xProp', 'path', 'separator', 'kind', 'name']);
    if (!o) return undefined;
    const separator = this.string(`${p}.separator`, o.separator);
    const sep = separator !== undefined ? { separator } : {};
    // The core shape ({kind, name|path}) is accepted too, so a RoutingConfig can be pasted as is.
    const kind = o.kind ?? (o.xProp !== undefined ? 'xProp' : o.path !== undefined ? 'path' : undefined);
    if (kind === 'location' || kind === 'rooms') return { kind };
    if (kind === 'xProp') {
      const name = this.string(o.xProp !== undefined ? `${p}.xProp` : `${p}.name`, o.xProp ?? o.name, { required: true, pattern: /^X-[A-Za-z0-9-]+$/i, patternHint: 'must be an X- property name such as X-KALTURA-RESOURCE-IDS' });
      return name ? { kind, name, ...sep } : undefined;
    }
    if (kind === 'path') {
      const path = this.string(`${p}.path`, o.path, { required: true });
      return path ? { kind, path, ...sep } : undefined;
    }
    return this.fail(p, 'must be location, rooms, {xProp: NAME} or {path: dot.path}');
  }

  private window(x: unknown): { pastDays: number; futureDays: number } | undefined {
    if (x === undefined || x === null) return { pastDays: 7, futureDays: 365 };
    const o = this.object('window', x, ['pastDays', 'futureDays']);
    if (!o) return undefined;
    const pastDays = this.number('window.pastDays', o.pastDays, { min: 0, max: 3650 }) ?? (o.pastDays === undefined ? 7 : undefined);
    const futureDays = this.number('window.futureDays', o.futureDays, { min: 1, max: 3650 }) ?? (o.futureDays === undefined ? 365 : undefined);
    return pastDays !== undefined && futureDays !== undefined ? { pastDays, futureDays } : undefined;
  }

  private guards(x: unknown): RelayConfig['guards'] | undefined {
    if (x === undefined || x === null) return { allowEmptySource: false, allowShrink: false };
    const o = this.object('guards', x, ['maxDeletes', 'allowEmptySource', 'allowShrink']);
    if (!o) return undefined;
    const allowEmptySource = this.boolean('guards.allowEmptySource', o.allowEmptySource) ?? false;
    const allowShrink = this.boolean('guards.allowShrink', o.allowShrink) ?? false;
    let maxDeletes: { count?: number; percent?: number; floor?: number } | undefined;
    if (o.maxDeletes !== undefined && o.maxDeletes !== null) {
      const m = this.object('guards.maxDeletes', o.maxDeletes, ['count', 'percent', 'floor']);
      if (m) {
        const count = this.number('guards.maxDeletes.count', m.count, { min: 0, integer: true });
        const percent = this.number('guards.maxDeletes.percent', m.percent, { min: 0, max: 100 });
        const floor = this.number('guards.maxDeletes.floor', m.floor, { min: 0, integer: true });
        if (m.count === undefined && m.percent === undefined) this.fail('guards.maxDeletes', 'needs count and/or percent');
        maxDeletes = { ...(count !== undefined ? { count } : {}), ...(percent !== undefined ? { percent } : {}), ...(floor !== undefined ? { floor } : {}) };
      }
    }
    return { allowEmptySource, allowShrink, ...(maxDeletes ? { maxDeletes } : {}) };
  }
}

function join(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}["${key}"]`;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  if (typeof x === 'object') return 'a mapping';
  if (typeof x === 'string') return `"${x}"`;
  return `${typeof x} ${String(x)}`;
}
