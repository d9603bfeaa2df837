/**
 * Room Sync in-process against the emulator (Microsoft 365 app-only and Google service account):
 * per-op items paired with their input item + summary, second run unchanged, a removed source
 * event deleted, an empty source refused by the guard (error with item index 0, or a summary item
 * with continueOnFail), delete policy "never", dry run writes nothing, a failing room does not sink
 * the others, people's own bookings untouched and reported by the conflict report.
 */
import { startEmulator, type Emulator } from '../../emulator';
import { runNode, type TestCredentials } from './harness';
import { emulatorCredentials } from './emulator-creds';
import { parseIcs } from '../../core/ics/parse';

const ROOM_1 = 'hs1@example.org';
const ROOM_2 = 'hs2@example.org';
let emu: Emulator;
let creds: TestCredentials;

beforeAll(async () => {
  emu = await startEmulator({ limits: false });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.graph.createMailbox(ROOM_1, { room: true, displayName: 'HS 1' });
  emu.graph.createMailbox(ROOM_2, { room: true, displayName: 'HS 2' });
  creds = emulatorCredentials(emu);
});
afterEach(() => {
  expect(emu.internalErrors).toEqual([]);
});

function day(n: number): string {
  return new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
}

function ev(uid: string, room: string, d = 3, title = `Lecture ${uid}`) {
  return { uid, sourceId: 'ckalender', title, start: { dateTime: `${day(d)}T09:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${day(d)}T10:00:00`, timeZone: 'Europe/Berlin' }, rooms: [room] };
}

const parameters = {
  provider: 'microsoft', microsoftAuth: 'appOnly', syncId: 'ckalender-rooms', inputFormat: 'events', targetMode: 'mapping', routeBy: 'rooms', routeMatch: 'exact',
  roomMap: { room: [{ value: 'HS 1', calendar: ROOM_1 }, { value: 'HS 2', calendar: ROOM_2 }] },
};
const credentials = ['calendarRelayMicrosoftAppOnlyApi'];

function sync(input: object[], extra: Record<string, unknown> = {}, continueOnFail = false) {
  return runNode({ type: 'roomSync', creds, credentials, input: input as never, parameters: { ...parameters, ...extra }, continueOnFail });
}

const actions = (items: Array<{ json: Record<string, unknown> }>) => items.filter((i) => i.json.action).map((i) => `${String(i.json.action)} ${String(i.json.calendarId)} ${String(i.json.title ?? i.json.key)}`).sort();
const summary = (items: Array<{ json: Record<string, unknown> }>) => items.find((i) => i.json.summary)!.json;
const titles = (room: string) => emu.graph.listRaw(room).map((e) => String((e.fields as { subject?: string }).subject)).sort();

describe('Room Sync', () => {
  it('creates per room, pairs each op with its item, then unchanged, then deletes what left the source', async () => {
    const input = [ev('a', 'HS 1'), ev('b', 'HS 2'), ev('c', 'HS 1', 4)];
    const first = await sync(input);
    expect(first.error).toBeUndefined();
    expect(actions(first.items)).toEqual([`created ${ROOM_1} Lecture a`, `created ${ROOM_1} Lecture c`, `created ${ROOM_2} Lecture b`]);
    expect(first.items.find((i) => i.json.title === 'Lecture b')!.pairedItem).toEqual({ item: 1 });
    expect(summary(first.items)).toMatchObject({ ok: true, dryRun: false, written: { created: 3 } });
    expect(titles(ROOM_1)).toEqual(['Lecture a', 'Lecture c']);

    const second = await sync(input);
    expect(actions(second.items).every((a) => a.startsWith('unchanged'))).toBe(true);
    expect(summary(second.items)).toMatchObject({ written: { created: 0, updated: 0, deleted: 0 } });

    const third = await sync([ev('a', 'HS 1', 3, 'Lecture a (moved)'), ev('b', 'HS 2')]);
    expect(actions(third.items)).toEqual([`deleted ${ROOM_1} k1 ckalender u:c`, `unchanged ${ROOM_2} k1 ckalender u:b`, `updated ${ROOM_1} Lecture a (moved)`]);
    expect(titles(ROOM_1)).toEqual(['Lecture a (moved)']);
  });

  it('an empty source is refused by the guard; with continueOnFail the summary says so; nothing is deleted', async () => {
    await sync([ev('a', 'HS 1'), ev('b', 'HS 1')]);
    const refused = await sync([{ events: [] }]);
    expect(refused.error?.message).toMatch(/refusing to sync: source "ckalender" delivered no events/);
    expect(refused.error?.description).toMatch(/Allow Empty Source/);
    const soft = await sync([{ events: [] }], {}, true);
    expect(summary(soft.items)).toMatchObject({ ok: false, guard: 'SourceEmptyError' });
    expect(titles(ROOM_1)).toEqual(['Lecture a', 'Lecture b']);
    const allowed = await sync([{ events: [] }], { options: { allowEmptySource: true } });
    expect(summary(allowed.items)).toMatchObject({ written: { deleted: 2 } });
  });

  it('delete policy "never" keeps what left the source; a dry run writes nothing', async () => {
    await sync([ev('a', 'HS 1'), ev('b', 'HS 1')]);
    const kept = await sync([ev('a', 'HS 1')], { deletePolicy: 'never' });
    expect(actions(kept.items)).toEqual([`kept ${ROOM_1} k1 ckalender u:b`, `unchanged ${ROOM_1} k1 ckalender u:a`]);
    expect(titles(ROOM_1)).toEqual(['Lecture a', 'Lecture b']);
    const dry = await sync([ev('a', 'HS 1', 3, 'renamed'), ev('n', 'HS 2')], { dryRun: true });
    expect(actions(dry.items)).toEqual([`would be created ${ROOM_2} Lecture n`, `would be deleted ${ROOM_1} k1 ckalender u:b`, `would be updated ${ROOM_1} renamed`]);
    expect(titles(ROOM_1)).toEqual(['Lecture a', 'Lecture b']);
    expect(titles(ROOM_2)).toEqual([]);
  });

  it('a room that cannot be read is reported and the other room is synced', async () => {
    emu.faults.next({ api: 'graph', target: ROOM_2 }, { kind: 'quota' }, 10);
    const r = await sync([ev('a', 'HS 1'), ev('b', 'HS 2')]);
    expect(r.error).toBeUndefined();
    expect(actions(r.items)).toContain(`created ${ROOM_1} Lecture a`);
    expect(r.items.some((i) => i.json.action === 'failed' && i.json.calendarId === ROOM_2)).toBe(true);
    expect(summary(r.items)).toMatchObject({ ok: false });
    expect(titles(ROOM_1)).toEqual(['Lecture a']);
  });

  it('conflict report: a person\'s own booking overlapping a synced event is one item; it is never touched', async () => {
    emu.graph.seedEvent(ROOM_1, {
      subject: 'Direct booking', start: { dateTime: `${day(3)}T08:30:00`, timeZone: 'UTC' }, end: { dateTime: `${day(3)}T09:30:00`, timeZone: 'UTC' },
    });
    const r = await sync([ev('a', 'HS 1'), ev('b', 'HS 1', 5)], { conflictReport: true });
    const conflicts = r.items.filter((i) => i.json.conflict);
    expect(conflicts.map((c) => [(c.json.foreign as { title: string }).title, (c.json.synced as { title: string }).title])).toEqual([['Direct booking', 'Lecture a']]);
    expect(titles(ROOM_1)).toEqual(['Direct booking', 'Lecture a', 'Lecture b']);
  });

  it('bad input items: item index in the error; with continueOnFail an error item and no deletes that run', async () => {
    await sync([ev('a', 'HS 1'), ev('b', 'HS 1')]);
    const bad = await sync([ev('a', 'HS 1'), { title: 'no uid' }]);
    expect(bad.error?.message).toMatch(/uid/);
    expect((bad.error as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(1);
    const soft = await sync([ev('a', 'HS 1'), { title: 'no uid' }], {}, true);
    expect(soft.items.find((i) => i.json.action === 'failed')!.pairedItem).toEqual({ item: 1 });
    expect(actions(soft.items)).toContain(`kept ${ROOM_1} k1 ckalender u:b`);
    expect(titles(ROOM_1)).toEqual(['Lecture a', 'Lecture b']);
  });

  it('an event of the source that cannot be read is kept on the target (deletes held back), the rest is synced', async () => {
    const vevent = (uid: string, start: string) => `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTART:${start}\r\nDURATION:PT1H\r\nSUMMARY:Lecture ${uid}\r\nLOCATION:HS 1\r\nEND:VEVENT\r\n`;
    const when = `${day(3).replace(/-/g, '')}T090000Z`;
    const cal = (...v: string[]) => ({ data: `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n${v.join('')}END:VCALENDAR\r\n` });
    const icsParams = { inputFormat: 'ics', icsField: 'data', routeBy: 'location', sourceId: 'plan' };
    await sync([cal(vevent('a', when), vevent('b', when))], icsParams);
    expect(titles(ROOM_1)).toEqual(['Lecture a', 'Lecture b']);
    const r = await sync([cal(vevent('a', when), vevent('b', 'garbage'), vevent('c', when))], icsParams);
    expect(actions(r.items)).toContain(`kept ${ROOM_1} k1 plan u:b`);
    expect(summary(r.items)).toMatchObject({ ok: false, warnings: expect.arrayContaining([expect.stringMatching(/^unreadable: item 0: line \d+/)]) });
    expect(titles(ROOM_1)).toEqual(['Lecture a', 'Lecture b', 'Lecture c']);
  });

  it('an override the source drops is restored as its series has it (action "restored", Google)', async () => {
    const ROOM = 'room-r@resource.calendar.google.com';
    emu.google.createCalendar(ROOM, { timeZone: 'Europe/Berlin' });
    const d = day(3);
    const series = { ...ev('s', 'x'), recurrence: { rrule: ['FREQ=DAILY;COUNT=3'], rdate: [], exdate: [] } };
    const next = new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const override = { ...ev('s', 'x', 4, 'Moved lecture'), recurrenceId: { dateTime: `${next}T09:00:00`, timeZone: 'Europe/Berlin' }, start: { dateTime: `${next}T11:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${next}T12:00:00`, timeZone: 'Europe/Berlin' } };
    const google = (input: object[]) => runNode({
      type: 'roomSync', creds, credentials: ['calendarRelayGoogleServiceAccountApi'], input: input as never,
      parameters: { provider: 'google', googleAuth: 'serviceAccount', syncId: 's1', inputFormat: 'events', targetMode: 'single', calendar: { __rl: true, mode: 'id', value: ROOM } },
    });
    expect(summary((await google([series, override])).items)).toMatchObject({ ok: true });
    const second = await google([series]);
    expect(second.items.filter((i) => i.json.action && i.json.action !== 'unchanged').map((i) => i.json.action)).toEqual(['restored']);
  });

  it('events that match no room: a hint in the output pane, nothing written for them', async () => {
    const r = await sync([ev('a', 'HS 1'), ev('z', 'HS 9')]);
    const hints = r.run.data.resultData.runData['Under Test'][0].hints ?? [];
    expect(hints.map((h) => h.message)).toEqual([expect.stringMatching(/^1 event\(s\) matched no room \(e\.g\. "Lecture z"/)]);
    expect(summary(r.items)).toMatchObject({ unmapped: 1 });
    expect(titles(ROOM_1)).toEqual(['Lecture a']);
  });

  it('never writes attendees: a feed event with ATTENDEE lines creates no attendees on Microsoft 365 or Google', async () => {
    const when = `${day(3).replace(/-/g, '')}T090000Z`;
    const data = `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:att-1\r\nDTSTART:${when}\r\nDURATION:PT1H\r\nSUMMARY:Viva\r\nLOCATION:HS 1\r\n`
      + 'ORGANIZER;CN=Prof:mailto:prof@example.org\r\nATTENDEE;CN=Ada;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:ada@example.org\r\nATTENDEE;ROLE=OPT-PARTICIPANT:mailto:bob@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    // The source really has attendees (otherwise the test would prove nothing).
    expect(parseIcs(data).events[0].attendees?.map((a) => a.email)).toEqual(['ada@example.org', 'bob@example.org']);
    const graph = await sync([{ data }], { inputFormat: 'ics', icsField: 'data', routeBy: 'location', sourceId: 'plan' });
    expect(summary(graph.items)).toMatchObject({ ok: true, written: { created: 1 } });
    expect(emu.graph.listRaw(ROOM_1).map((e) => (e.fields as { attendees?: unknown[] }).attendees ?? [])).toEqual([[]]);

    const ROOM = 'room-a@resource.calendar.google.com';
    emu.google.createCalendar(ROOM, { timeZone: 'Europe/Berlin' });
    const google = await runNode({
      type: 'roomSync', creds, credentials: ['calendarRelayGoogleServiceAccountApi'], input: [{ data }] as never,
      parameters: { provider: 'google', googleAuth: 'serviceAccount', syncId: 's1', inputFormat: 'ics', icsField: 'data', sourceId: 'plan', targetMode: 'single', calendar: { __rl: true, mode: 'id', value: ROOM } },
    });
    expect(summary(google.items)).toMatchObject({ ok: true, written: { created: 1 } });
    expect(emu.google.listRaw(ROOM).map((e) => (e as { attendees?: unknown[] }).attendees ?? [])).toEqual([[]]);
  });

  it('Google (service account) with one target calendar', async () => {
    const ROOM = 'room-a@resource.calendar.google.com';
    emu.google.createCalendar(ROOM, { timeZone: 'Europe/Berlin' });
    const r = await runNode({
      type: 'roomSync', creds, credentials: ['calendarRelayGoogleServiceAccountApi'], input: [ev('a', 'x'), ev('b', 'y')] as never,
      parameters: { provider: 'google', googleAuth: 'serviceAccount', syncId: 's1', inputFormat: 'events', targetMode: 'single', calendar: { __rl: true, mode: 'id', value: ROOM } },
    });
    expect(r.error).toBeUndefined();
    expect(summary(r.items)).toMatchObject({ ok: true, written: { created: 2 } });
    expect(emu.google.listRaw(ROOM).map((e) => e.summary).sort()).toEqual(['Lecture a', 'Lecture b']);
  });
});
