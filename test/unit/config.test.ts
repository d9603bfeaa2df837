/**
 * relay.yaml loading (cli/config.ts): every example config loads; bad configs are refused with
 * the exact path and message; ${ENV} substitution; relative paths; routing shapes.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, loadConfigFile, ConfigError, type RelayConfig } from '../../cli/config';

const ROOT = join(__dirname, '..', '..');
const ENV: Record<string, string> = {
  ['GOOGLE_KEY_FILE']: join('/secrets', 'google.json'), CKALENDER_FEED_KEY: 'k', M365_TENANT_ID: 't', M365_CLIENT_ID: 'c', M365_CLIENT_SECRET: 's',
  M365_REFRESH_TOKEN: 'r', CALDN_API_TOKEN: 'x', KALTURA_KS: 'ks', SONDERPLAN_TOKEN: 'sp',
  DEMO_EMULATOR: 'http://127.0.0.1:9999', DEMO_DIR: '/tmp/demo', DEMO_FEEDS: '/tmp/demo/feeds', DEMO_TENANT: 'tn', DEMO_CLIENT_ID: 'ci', DEMO_CLIENT_SECRET: 'cs',
};

const examples = [
  ...readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).map((f) => join('examples', f)),
  ...readdirSync(join(ROOT, 'examples', 'demo')).filter((f) => f.endsWith('.yaml')).map((f) => join('examples', 'demo', f)),
];

describe('example configs', () => {
  it('there is one per real source system, for both providers', () => {
    const names = examples.join(' ');
    for (const system of ['ckalender', 'learningspace-ics', 'learningspace-json', 'kaltura', 'caldn', 'sonderplan']) expect(names).toContain(system);
    expect(examples.length).toBeGreaterThanOrEqual(12);
  });

  it.each(examples)('%s loads', async (file) => {
    const c = await loadConfigFile(join(ROOT, file), ENV);
    expect(c.syncId).toMatch(/^[a-z0-9-]+$/);
    expect(c.sources.length).toBeGreaterThan(0);
    for (const s of c.sources) expect(s.url ?? s.file).toBeTruthy();
    expect(c.routing.target ?? c.routing.by).toBeDefined();
    expect(JSON.stringify(c)).not.toContain('${'); // every variable substituted
  });

  it('a config without its environment variables is refused, naming each', async () => {
    const err = await loadConfigFile(join(ROOT, 'examples', 'sonderplan-microsoft.yaml'), {}).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    expect(issues).toEqual(expect.arrayContaining([
      { path: 'target.auth.tenantId', message: 'environment variable M365_TENANT_ID is not set' },
      { path: 'sources[0].headers.Authorization', message: 'environment variable SONDERPLAN_TOKEN is not set' },
    ]));
  });
});

const GOOD = `
syncId: s1
target:
  provider: google
  auth: { accessToken: abc }
sources:
  - id: a
    file: feeds/a.ics
routing:
  target: room@x
`;

function load(yaml: string, env: Record<string, string> = {}): RelayConfig {
  return parseConfig(yaml, { file: '/etc/relay/relay.yaml', env });
}

function issues(yaml: string, env: Record<string, string> = {}): Array<{ path: string; message: string }> {
  try {
    load(yaml, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

/** GOOD with one line replaced (or lines added at the end). */
function edit(find: string, replace: string): string {
  if (!GOOD.includes(find)) throw new Error(`test bug: "${find}" not in GOOD`);
  return GOOD.replace(find, replace);
}

describe('a minimal config', () => {
  it('loads with defaults, paths resolved against the config directory', () => {
    const c = load(GOOD);
    expect(c).toMatchObject({
      syncId: 's1', identity: 'uid', unmapped: 'keep', window: { pastDays: 7, futureDays: 365 }, guards: { allowEmptySource: false, allowShrink: false },
      target: { provider: 'google', auth: { kind: 'accessToken', accessToken: 'abc' } },
      sources: [{ id: 'a', file: '/etc/relay/feeds/a.ics', preset: 'auto' }],
      routing: { target: 'room@x' },
    });
  });

  it("guards.maxDeletes is left to the engine's default (core/guards.ts); an explicit limit replaces it; routing.unmapped: delete is explicit", () => {
    expect(load(GOOD + 'guards: { maxDeletes: { count: 3 } }\n').guards.maxDeletes).toEqual({ count: 3 });
    expect(load(GOOD + 'guards: { maxDeletes: { percent: 20, floor: 1 } }\n').guards.maxDeletes).toEqual({ percent: 20, floor: 1 });
    expect(load(GOOD + 'guards: { allowEmptySource: true }\n').guards.maxDeletes).toBeUndefined();
    expect(load(GOOD + 'guards: { allowShrink: true }\n').guards.allowShrink).toBe(true);
    const byLocation = GOOD.replace('routing:\n  target: room@x', 'routing: { by: location, map: { a: room@x }, unmapped: delete }');
    expect(byLocation).not.toBe(GOOD);
    expect(load(byLocation).unmapped).toBe('delete');
  });

  it('Google target.listMode: full by default, incremental when asked', () => {
    expect((load(GOOD).target as { listMode?: string }).listMode).toBeUndefined();
    expect(load(edit('provider: google', 'provider: google\n  listMode: incremental')).target).toMatchObject({ listMode: 'incremental' });
  });

  it('Microsoft 365 without defaultTimeZone: left unset (the provider reads each mailbox zone); set, it is kept', () => {
    const ms = (extra: string) => load(edit('provider: google\n  auth: { accessToken: abc }', `provider: microsoft\n${extra}  auth: { accessToken: abc }`)).target as { defaultTimeZone?: string };
    expect(ms('').defaultTimeZone).toBeUndefined();
    expect(ms('  defaultTimeZone: Europe/Vienna\n').defaultTimeZone).toBe('Europe/Vienna');
  });

  it('substitutes ${NAME} and ${NAME:-default}', () => {
    const c = load(edit('accessToken: abc', 'accessToken: "${TOKEN}"').replace('room@x', '"${ROOM:-fallback@x}"'), { TOKEN: 'from-env' });
    expect(c.target.auth).toEqual({ kind: 'accessToken', accessToken: 'from-env' });
    expect(c.routing.target).toBe('fallback@x');
  });
});

describe('bad configs name the path and what is wrong', () => {
  const table: Array<[string, string, string, string]> = [
    ['YAML syntax', 'syncId: [unclosed', '(yaml line', ''],
    ['missing syncId', GOOD.replace('syncId: s1\n', ''), 'syncId', 'is required'],
    ['bad syncId', edit('syncId: s1', 'syncId: "has space"'), 'syncId', 'must be 1–64 letters'],
    ['unknown top-level key', GOOD + 'sourcez: []\n', '(top level).sourcez', 'unknown key; expected one of syncId, target, sources'],
    ['unknown provider', edit('provider: google', 'provider: outlook'), 'target.provider', 'must be one of google, microsoft, caldav (got "outlook")'],
    ['no auth', edit('  auth: { accessToken: abc }\n', ''), 'target.auth', 'is required: needs one of: serviceAccountKeyFile'],
    ['two auth kinds', edit('auth: { accessToken: abc }', 'auth: { accessToken: abc, refreshToken: r }'), 'target.auth', 'has refreshToken and accessToken: choose one'],
    ['google refresh token without client', edit('auth: { accessToken: abc }', 'auth: { refreshToken: r }'), 'target.auth.clientId', 'is required'],
    ['microsoft setting on google', edit('provider: google', 'provider: google\n  timeZoneStyle: windows'), 'target.timeZoneStyle', 'is a Microsoft setting'],
    ['microsoft without tenant', edit('provider: google\n  auth: { accessToken: abc }', 'provider: microsoft\n  auth: { clientId: c, clientSecret: s }'), 'target.auth.tenantId', 'is required'],
    ['microsoft with an unknown mailbox zone', edit('provider: google\n  auth: { accessToken: abc }', 'provider: microsoft\n  defaultTimeZone: Europe/Atlantis\n  auth: { accessToken: abc }'), 'target.defaultTimeZone', 'unknown IANA time zone "Europe/Atlantis"'],
    ['listMode on microsoft', edit('provider: google\n  auth: { accessToken: abc }', 'provider: microsoft\n  defaultTimeZone: UTC\n  listMode: incremental\n  auth: { accessToken: abc }'), 'target.listMode', 'is a Google setting'],
    ['bad listMode', edit('provider: google', 'provider: google\n  listMode: delta'), 'target.listMode', 'must be one of full, incremental'],
    ['bad timeZoneStyle', edit('provider: google\n  auth: { accessToken: abc }', 'provider: microsoft\n  timeZoneStyle: olson\n  auth: { accessToken: abc }'), 'target.timeZoneStyle', 'must be one of iana, windows'],
    ['bad endpoint URL', edit('provider: google', 'provider: google\n  rootUrl: ftp://x'), 'target.rootUrl', 'must be an http(s) URL'],
    ['sources empty', edit('sources:\n  - id: a\n    file: feeds/a.ics', 'sources: []'), 'sources', 'must list at least one source'],
    ['source without location', edit('    file: feeds/a.ics\n', ''), 'sources[0]', 'needs url (http/https) or file'],
    ['source with url and file', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n    url: https://x/a.ics'), 'sources[0]', 'has both url and file'],
    ['bad preset', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n    preset: xml'), 'sources[0].preset', '(got "xml")'],
    ['second source bad preset', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n  - id: b\n    url: https://x/b\n    preset: csv'), 'sources[1].preset', 'must be one of'],
    ['duplicate source id', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n  - id: a\n    file: b.ics'), 'sources[1].id', '"a" is already used by sources[0]'],
    ['generic without map', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n    preset: generic'), 'sources[0].map', 'preset generic needs a map with at least id, title and start'],
    ['map on ics', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n    preset: ics\n    map: { id: x }'), 'sources[0].map', 'is not used by preset ics'],
    ['unknown map field', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n    preset: generic\n    map: { id: a, title: b, start: c, colour: d }'), 'sources[0].map.colour', 'unknown key'],
    ['budget on a file', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n    budget: { requests: 20, perMinutes: 60 }'), 'sources[0].budget', 'only applies to url sources'],
    ['budget zero', edit('    file: feeds/a.ics', '    url: https://x/a.ics\n    budget: { requests: 0, perMinutes: 60 }').replace('    file: feeds/a.ics\n', ''), 'sources[0].budget.requests', 'must be at least 1, got 0'],
    ['budget incomplete', edit('    file: feeds/a.ics', '    url: https://x/a.ics\n    budget: { requests: 20 }').replace('    file: feeds/a.ics\n', ''), 'sources[0].budget.perMinutes', 'is required'],
    ['unknown zone', edit('    file: feeds/a.ics', '    file: feeds/a.ics\n    defaultTimeZone: Europe/Atlantis'), 'sources[0].defaultTimeZone', 'unknown IANA time zone "Europe/Atlantis"'],
    ['no routing', edit('routing:\n  target: room@x\n', ''), 'routing', 'is required'],
    ['routing by unknown field', edit('  target: room@x', '  by: subject\n  map: { a: b }'), 'routing.by', 'must be location, rooms, {xProp: NAME} or {path: dot.path}, got "subject"'],
    ['routing without map or default', edit('  target: room@x', '  by: location'), 'routing', 'needs a map (value: calendar id) or a default'],
    ['routing xProp not X-', edit('  target: room@x', '  by: { xProp: LOCATION }\n  map: { a: b }'), 'routing.by.xProp', 'must be an X- property name'],
    ['routing target plus map', edit('  target: room@x', '  target: room@x\n  map: { a: b }'), 'routing.map', 'is not used with a fixed target'],
    ['routing map value empty', edit('  target: room@x', '  by: location\n  map: { "Room 1": [] }'), 'routing.map["Room 1"]', 'must name at least one calendar id'],
    ['window negative', GOOD + 'window: { pastDays: -1 }\n', 'window.pastDays', 'must be at least 0, got -1'],
    ['identity wrong', GOOD + 'identity: hash\n', 'identity', 'must be one of uid, content (got "hash")'],
    ['maxDeletes percent > 100', GOOD + 'guards: { maxDeletes: { percent: 150 } }\n', 'guards.maxDeletes.percent', 'must be at most 100, got 150'],
    ['maxDeletes empty', GOOD + 'guards: { maxDeletes: {} }\n', 'guards.maxDeletes', 'needs count and/or percent'],
    ['allowEmptySource not boolean', GOOD + 'guards: { allowEmptySource: maybe }\n', 'guards.allowEmptySource', 'must be true or false, got "maybe"'],
    ['missing env variable', edit('accessToken: abc', 'accessToken: "${NOPE}"'), 'target.auth.accessToken', 'environment variable NOPE is not set'],
  ];

  it.each(table)('%s', (_name, yaml, path, message) => {
    const found = issues(yaml);
    const hit = found.find((i) => i.path.startsWith(path) && i.message.includes(message));
    if (!hit) throw new Error(`expected an issue at ${path} containing "${message}", got:\n${found.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  });

  it('reports every problem at once, and the message lists them with the file', () => {
    const yaml = edit('provider: google', 'provider: outlook').replace('file: feeds/a.ics', 'file: feeds/a.ics\n    preset: xml');
    let err: ConfigError | undefined;
    try {
      load(yaml);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['target.provider', 'sources[0].preset']));
    expect(err!.message).toMatch(/^\/etc\/relay\/relay\.yaml: 2 problem\(s\)/);
    expect(err!.message).toContain('  sources[0].preset: must be one of');
  });
});

describe('routing shapes', () => {
  it.each([
    ['location', { kind: 'location' }],
    ['rooms', { kind: 'rooms' }],
    ['{ xProp: X-KALTURA-RESOURCE-IDS, separator: "," }', { kind: 'xProp', name: 'X-KALTURA-RESOURCE-IDS', separator: ',' }],
    ['{ path: "rooms.0" }', { kind: 'path', path: 'rooms.0' }],
    ['{ kind: xProp, name: X-FOO }', { kind: 'xProp', name: 'X-FOO' }],
  ])('by: %s', (by, expected) => {
    const c = load(edit('  target: room@x', `  by: ${by}\n  map: { "a": [r1@x, r2@x] }\n  default: d@x\n  match: contains`));
    expect(c.routing).toEqual({ by: expected, map: { a: ['r1@x', 'r2@x'] }, default: 'd@x', match: 'contains' });
  });
});
