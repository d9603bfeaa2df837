/* eslint-disable @typescript-eslint/no-explicit-any -- contract tests read JSON responses loosely */
/**
 * `calendar-relay emulator`: the certificate file, the Google service-account key file, refresh
 * tokens, rooms as Directory resources and Graph places, and the `primary` calendar all work
 * through the real auth paths against the running emulator.
 */
import { createSign } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Emulator } from '../../emulator';
import { makeEmulatorCommand, EMULATOR_GRAPH_APP } from '../../cli/emulator-command';
import { UsageError } from '../../cli/args';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Agent } = require('undici') as { Agent: new (o: unknown) => unknown };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function start(argv: string[]): Promise<{ emu: Emulator; out: string }> {
  let out = '';
  let emu: Emulator | undefined;
  const code = await makeEmulatorCommand({ onStarted: (e) => void (emu = e) })(argv, { stdout: (t) => void (out += t), stderr: () => undefined, now: Date.now });
  expect(code).toBe(0);
  return { emu: emu!, out };
}

test('--https --cert-out writes the certificate; service account, refresh tokens, rooms and primary work', async () => {
  const certOut = join(dir, 'cert.pem');
  const { emu, out } = await start(['--port', '0', '--https', '--cert-out', certOut, '--rooms', 'hall@x.example,lab@x.example']);
  try {
    const cert = await readFile(certOut, 'utf8');
    expect(cert).toBe(emu.tls!.certPem);
    expect(out).toContain(`NODE_EXTRA_CA_CERTS=${certOut}`);
    expect(out).toContain(`curl --cacert ${certOut}`);
    const dispatcher = new Agent({ connect: { ca: cert } });
    const call = async (path: string, init: RequestInit = {}) => {
      const r = await fetch(emu.url + path, { ...init, dispatcher } as RequestInit);
      return { status: r.status, json: (await r.json()) as any };
    };
    const form = (f: Record<string, string>) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(f).toString() });

    // Service account: sign a JWT with the key file's private key, exchange it at token_uri.
    const keyPath = /Google service account key:\s+(\S+)/.exec(out)![1];
    const key = JSON.parse(await readFile(keyPath, 'utf8'));
    expect(key).toMatchObject({ type: 'service_account', token_uri: `${emu.url}/token` });
    const now = Math.floor(emu.clock.now() / 1000);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: key.client_email, sub: 'admin@x.example', aud: key.token_uri, iat: now, exp: now + 3600, scope: 'https://www.googleapis.com/auth/calendar' })}`;
    const assertion = `${head}.${createSign('RSA-SHA256').update(head).sign(key.private_key).toString('base64url')}`;
    const sa = await call('/token', form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }));
    expect(sa.status).toBe(200);
    const auth = (t: string) => ({ headers: { Authorization: `Bearer ${t}` } });
    expect((await call('/calendar/v3/calendars/hall%40x.example/events', auth(sa.json.access_token))).status).toBe(200);

    // Rooms are Directory resources and Graph places.
    const rooms = await call('/admin/directory/v1/customer/my_customer/resources/calendars', auth(sa.json.access_token));
    expect(rooms.json.items.map((r: any) => r.resourceEmail)).toEqual(['hall@x.example', 'lab@x.example']);
    const graphToken = /Graph access token \(30 days\):\s+(\S+)/.exec(out)![1];
    const places = await call('/v1.0/places/microsoft.graph.room', auth(graphToken));
    expect(places.json.value.map((r: any) => r.emailAddress)).toEqual(['hall@x.example', 'lab@x.example']);

    // Google refresh token → a token whose primary calendar exists; static tokens get "primary".
    const grt = /Google refresh token:\s+(\S+)/.exec(out)![1];
    const refreshed = await call('/token', form({ grant_type: 'refresh_token', refresh_token: grt, client_id: 'any', client_secret: 'any' }));
    expect(refreshed.status).toBe(200);
    expect((await call('/calendar/v3/calendars/primary/events', auth(refreshed.json.access_token))).status).toBe(200);
    const googleToken = /Google access token \(30 days\):\s+(\S+)/.exec(out)![1];
    expect((await call('/calendar/v3/calendars/primary/events', auth(googleToken))).status).toBe(200);

    // Microsoft refresh token → delegated token serving /me.
    const mrt = /Microsoft refresh token:\s+(\S+)/.exec(out)![1];
    const ms = await call(`/${EMULATOR_GRAPH_APP.tenantId}/oauth2/v2.0/token`, form({ grant_type: 'refresh_token', refresh_token: mrt, client_id: EMULATOR_GRAPH_APP.clientId, scope: 'https://graph.microsoft.com/.default offline_access' }));
    expect(ms.status).toBe(200);
    expect((await call('/v1.0/me/events', auth(ms.json.access_token))).status).toBe(200);
  } finally {
    await emu.close();
  }
});

test('--cert-out without --https is a usage error', async () => {
  await expect(makeEmulatorCommand()(['--port', '0', '--cert-out', join(dir, 'x.pem')], { stdout: () => undefined, stderr: () => undefined, now: Date.now })).rejects.toThrow(UsageError);
});
