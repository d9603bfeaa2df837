/**
 * The credential types as n8n applies them (harness CredentialsHelper: preAuthentication into the
 * expirable sessionToken, then the generic/function authenticate), against the emulator: Google
 * service account (JWT, impersonation) and Microsoft app-only tokens are accepted by the APIs and
 * their test requests succeed; wrong secrets fail; the feed credential sends basic / bearer /
 * header auth; the ICS Trigger reads a protected feed with it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ICredentialType, IHttpRequestHelper, IHttpRequestOptions } from 'n8n-workflow';
import { startEmulator, type Emulator } from '../../emulator';
import { emulatorCredentials } from './emulator-creds';
import { PollingWorkflow } from './harness';
import { fetchTransport } from '../../providers/http';
import { CalendarRelayGoogleServiceAccountApi } from '../../credentials/CalendarRelayGoogleServiceAccountApi.credentials';
import { CalendarRelayMicrosoftAppOnlyApi } from '../../credentials/CalendarRelayMicrosoftAppOnlyApi.credentials';
import { CalendarRelayFeedAuthApi } from '../../credentials/CalendarRelayFeedAuthApi.credentials';
import { CalendarRelayBridgeApi } from '../../credentials/CalendarRelayBridgeApi.credentials';
import { CalendarRelayGoogleOAuth2Api } from '../../credentials/CalendarRelayGoogleOAuth2Api.credentials';
import { CalendarRelayMicrosoftOAuth2Api } from '../../credentials/CalendarRelayMicrosoftOAuth2Api.credentials';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ limits: false });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => emu.reset());

/** n8n's httpRequest for preAuthentication (json: parsed body; status errors throw), over fetch. */
const helpers = {
  helpers: {
    async httpRequest(o: IHttpRequestOptions) {
      const res = await fetchTransport()({ method: (o.method ?? 'GET') as 'GET', url: o.url, headers: o.headers as Record<string, string>, body: o.body as string });
      if (res.status >= 400) throw Object.assign(new Error(`HTTP ${res.status}: ${res.body}`), { httpCode: res.status });
      return JSON.parse(res.body);
    },
  },
} as unknown as IHttpRequestHelper;

function authHeaders(type: ICredentialType, data: Record<string, unknown>): Record<string, string> {
  const auth = type.authenticate as { properties: { headers: Record<string, string> } };
  return Object.fromEntries(Object.entries(auth.properties.headers).map(([k, v]) => [k, v.replace(/^=/, '').replace(/\{\{\$credentials\.(\w+)\}\}/g, (_, key: string) => String(data[key]))]));
}

/** The credential's test request, resolved the simple way n8n resolves `={{$credentials.x.replace(...)}}` here. */
async function runTest(type: ICredentialType, data: Record<string, unknown>): Promise<number> {
  const req = type.test!.request;
  const baseURL = String(req.baseURL ?? '').replace(/^=\{\{\$credentials\.(\w+)\.replace\(.*\)\}\}$/, (_, k: string) => String(data[k]).replace(/\/$/, ''));
  const qs = new URLSearchParams(Object.entries(req.qs ?? {}).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const headers = authHeaders(type, data);
  const res = await fetchTransport()({ method: 'GET', url: `${baseURL}${req.url}${qs ? `?${qs}` : ''}`, headers });
  return res.status;
}

describe('credentials', () => {
  it('every type has an icon, a documentation link and a test request (OAuth2 types extend oAuth2Api)', () => {
    for (const C of [CalendarRelayGoogleOAuth2Api, CalendarRelayGoogleServiceAccountApi, CalendarRelayMicrosoftOAuth2Api, CalendarRelayMicrosoftAppOnlyApi, CalendarRelayBridgeApi, CalendarRelayFeedAuthApi]) {
      const c = new C();
      expect(c.icon).toEqual({ light: expect.stringMatching(/^file:icons\/.+\.svg$/), dark: expect.stringMatching(/^file:icons\/.+\.dark\.svg$/) });
      expect(c.documentationUrl).toMatch(/^https:\/\//);
      expect(c.test?.request.url).toBeDefined();
    }
    expect(new CalendarRelayGoogleOAuth2Api().extends).toEqual(['oAuth2Api']);
    expect(new CalendarRelayMicrosoftOAuth2Api().extends).toEqual(['oAuth2Api']);
  });

  it('Google service account: preAuthentication gets a token the Calendar API accepts; a foreign key is refused', async () => {
    const creds = emulatorCredentials(emu);
    emu.google.createCalendar('c@x', {});
    const type = new CalendarRelayGoogleServiceAccountApi();
    const data = { ...creds.data.get('calendarRelayGoogleServiceAccountApi')! };
    Object.assign(data, await type.preAuthentication!.call(helpers, data));
    expect(String(data.sessionToken)).toMatch(/^ya29\.emu-/);
    // The emulator has no calendarList (the test request's path): check the authenticated header on an events list instead.
    const list = (d: Record<string, unknown>) => fetchTransport()({ method: 'GET', url: `${emu.url}/calendar/v3/calendars/c%40x/events`, headers: authHeaders(type, d) });
    expect((await list(data)).status).toBe(200);
    expect((await list({ ...data, sessionToken: 'forged' })).status).toBe(401);
    await expect(type.preAuthentication!.call(helpers, { ...data, email: 'unknown@project.iam.gserviceaccount.com' })).rejects.toThrow(/HTTP 4\d\d/);
  });

  it('Microsoft app-only: preAuthentication gets a client-credentials token; the /places test request succeeds; a wrong secret fails', async () => {
    const creds = emulatorCredentials(emu);
    emu.graph.createMailbox('room@x.org', { room: true });
    const type = new CalendarRelayMicrosoftAppOnlyApi();
    const data = { ...creds.data.get('calendarRelayMicrosoftAppOnlyApi')! };
    Object.assign(data, await type.preAuthentication!.call(helpers, data));
    expect(await runTest(type, data)).toBe(200);
    await expect(type.preAuthentication!.call(helpers, { ...data, clientSecret: 'wrong' })).rejects.toThrow(/HTTP 401/);
  });

  describe('feed authentication', () => {
    let server: Server;
    let base: string;
    let seen: IncomingMessage[];
    beforeAll(async () => {
      server = createServer((req, res) => {
        seen.push(req);
        const ok = req.headers.authorization === `Basic ${Buffer.from('u:p').toString('base64')}` || req.headers.authorization === 'Bearer t0k' || req.headers['x-api-key'] === 'k3y';
        res.writeHead(ok ? 200 : 401);
        res.end(ok ? 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:p1\r\nDTSTART:20261201T090000Z\r\nSUMMARY:Private\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' : '');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    beforeEach(() => {
      seen = [];
    });

    it.each([
      ['basic', { authType: 'basic', user: 'u', password: 'p' }],
      ['bearer', { authType: 'bearer', token: 't0k' }],
      ['header', { authType: 'header', headerName: 'X-API-Key', headerValue: 'k3y' }],
    ])('%s: the ICS Trigger reads the protected feed', async (_kind, data) => {
      const creds = emulatorCredentials(emu);
      creds.set('calendarRelayFeedAuthApi', data);
      const wf = new PollingWorkflow(creds, { source: 'ics', url: `${base}/private.ics`, authentication: 'feedAuth' }, ['calendarRelayFeedAuthApi']);
      const items = await wf.poll();
      expect(items!.map((i) => i.json.title)).toEqual(['Private']);
    });

    it('without credentials the feed answers 401 and the trigger fails with a NodeApiError naming the status', async () => {
      const wf = new PollingWorkflow(emulatorCredentials(emu), { source: 'ics', url: `${base}/private.ics` });
      await expect(wf.poll()).rejects.toMatchObject({ name: 'NodeApiError', httpCode: '401' });
      const out = await new CalendarRelayFeedAuthApi().authenticate({ authType: 'bearer', token: 'x' }, { url: 'u', headers: { a: 'b' } });
      expect(out.headers).toEqual({ a: 'b', Authorization: 'Bearer x' });
    });
  });
});
