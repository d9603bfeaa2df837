/**
 * `calendar-relay demo --caldav` (cli/demo-caldav.ts) on a real Radicale: the CKalender, Kaltura
 * and LearningSpace sample feeds land in CalDAV room calendars named by display name, a re-run
 * writes nothing, a removed event is deleted, X-KALTURA-* are stored, a person's booking stays.
 */
import { join } from 'node:path';
import { DEMO_EPOCH, removeVevent } from '../../cli/demo';
import { runCalDavDemo } from '../../cli/demo-caldav';
import { caldavServersWanted, CalDavTestServer } from './servers';

const maybe = caldavServersWanted() ? describe : describe.skip;

maybe('CalDAV demo on Radicale', () => {
  let server: CalDavTestServer;
  beforeAll(async () => {
    server = await CalDavTestServer.start('radicale');
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  test('three runs: create, nothing rewritten, the removal propagates', async () => {
    const lines: string[] = [];
    const auth = server.auth as { username: string; password: string };
    const r = await runCalDavDemo({
      print: (l) => lines.push(l), root: join(__dirname, '..', '..'), now: () => DEMO_EPOCH, removeVevent,
      server: { baseUrl: server.url, username: auth.username, password: auth.password },
    });
    expect(r).toMatchObject({ ran: true, ok: true, writesOnRerun: 0, deletedOnThirdRun: 1, kalturaPropsKept: true, personalUntouched: true });
    expect(lines.join('\n')).toMatch(/named in the routing by display name: Rathaus Raum 107/);
  });
});
