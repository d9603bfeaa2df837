/**
 * The OAuth2 credentials through n8n-core's own OAuth2 path (httpRequestWithAuthentication →
 * requestOAuth2 for types extending oAuth2Api): Calendar Event get many with a stored access token,
 * and a refresh through the token URL when the emulator expires it.
 */
import { startEmulator, type Emulator } from '../../emulator';
import { runNode, TestCredentials } from './harness';

const ROOM = 'room-a@resource.calendar.google.com';
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ limits: false });
});
afterAll(async () => {
  await emu.close();
});

it('Google OAuth2: get many with the stored token; after the token expires n8n refreshes it and retries', async () => {
  emu.reset();
  emu.google.createCalendar(ROOM, { timeZone: 'Europe/Berlin' });
  emu.google.seedEvent(ROOM, { summary: 'Seeded', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T10:00:00Z' } } as never);
  emu.google.registerRefreshToken('rt-1', { user: 'admin@example.org' });
  const creds = new TestCredentials();
  creds.set('calendarRelayGoogleOAuth2Api', {
    grantType: 'authorizationCode', clientId: 'cid', clientSecret: 'csecret', authUrl: `${emu.url}/auth`, accessTokenUrl: `${emu.url}/token`,
    scope: 'https://www.googleapis.com/auth/calendar', authentication: 'body', authQueryParameters: '', apiRootUrl: `${emu.url}/`,
    oauthTokenData: { access_token: emu.google.issueAccessToken({ subject: 'admin@example.org' }), token_type: 'Bearer', refresh_token: 'rt-1' },
  });
  const parameters = { provider: 'google', googleAuth: 'oAuth2', calendar: { __rl: true, mode: 'id', value: ROOM }, operation: 'getMany', timeMin: '2026-11-01T00:00:00Z', timeMax: '2027-01-01T00:00:00Z', returnMode: 'count' };
  const first = await runNode({ type: 'calendarEvent', creds, credentials: ['calendarRelayGoogleOAuth2Api'], parameters });
  expect(first.error).toBeUndefined();
  expect(first.items[0].json.count).toBe(1);
  emu.google.expireAccessTokens();
  const second = await runNode({ type: 'calendarEvent', creds, credentials: ['calendarRelayGoogleOAuth2Api'], parameters });
  expect(second.error?.message).toBeUndefined();
  expect(second.items[0].json.count).toBe(1);
  expect((creds.data.get('calendarRelayGoogleOAuth2Api')!.oauthTokenData as { access_token: string }).access_token).not.toBe('');
});
