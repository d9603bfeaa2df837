/**
 * Exact ownership in the providers (issue 7): Google ties the stamp to the derived event id, Graph
 * to the ids it recorded at creation; the digest of what was written tells a person's edit.
 */
import type { CalendarEvent } from '../../core/event';
import { overrideKey, uidKey } from '../../core/sync-key';
import { googleEventId, googleInstanceId, MAX_ID_GENERATION } from '../../providers/google/ids';
import { googleCopyReason, isOurGoogleId } from '../../providers/google/ownership';
import { CreatedIdRecord } from '../../providers/graph/ownership';
import { transactionIdFor } from '../../providers/graph/mapper';
import { contentDigest, editedFields } from '../../providers/ownership';
import type { TargetEvent, WriteResult } from '../../providers/port';
import { MemoryKeyValueStore } from '../../providers/state';

const e: CalendarEvent = { uid: 'u', title: 'Lecture', location: 'Room 1', start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-01T10:00:00', timeZone: 'Europe/Berlin' } };

describe('digest of the written fields', () => {
  test('the same instant written differently is no edit; each changed field is named', () => {
    const d = contentDigest(e, 'UTC');
    expect(editedFields(d, { ...e, start: { dateTime: '2026-12-01T08:00:00Z' }, end: { dateTime: '2026-12-01T09:00:00Z' } }, 'UTC')).toBeUndefined();
    expect(editedFields(d, { ...e, title: ' Lecture \n' }, 'UTC')).toBeUndefined();
    expect(editedFields(d, { ...e, title: 'Party', location: 'Cellar' }, 'UTC')).toEqual(['title', 'location']);
    expect(editedFields(d, { ...e, end: { dateTime: '2026-12-01T11:00:00', timeZone: 'Europe/Berlin' } }, 'UTC')).toEqual(['end']);
    expect(editedFields(d, { ...e, recurrence: { rrule: ['FREQ=DAILY'], rdate: [], exdate: [] } }, 'UTC')).toEqual(['recurrence']);
    // No digest, or one this version does not read: no evidence of an edit.
    expect(editedFields(undefined, { ...e, title: 'x' }, 'UTC')).toBeUndefined();
    expect(editedFields('d9 whatever', { ...e, title: 'x' }, 'UTC')).toBeUndefined();
  });
  test('rule parts in another order are the same rule', () => {
    const a = { ...e, recurrence: { rrule: ['FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5'], rdate: [], exdate: [] } };
    expect(editedFields(contentDigest(a, 'UTC'), { ...a, recurrence: { rrule: ['RRULE:COUNT=5;FREQ=WEEKLY;BYDAY=MO,TH'], rdate: [], exdate: [] } }, 'UTC')).toBeUndefined();
  });
});

describe('Google: the stamp is tied to the derived id', () => {
  const key = uidKey(e);
  const stamp = { syncId: 's', sourceKey: key, fingerprint: 'f' };
  test('an event under the id derived for its key (any generation) is ours; anything else is a copy', () => {
    expect(googleCopyReason({ id: googleEventId('s', key) }, stamp)).toBeUndefined();
    expect(googleCopyReason({ id: googleEventId('s', key, 3) }, stamp)).toBeUndefined();
    expect(googleCopyReason({ id: 'abcdefghijklmnopqrstuv0123' }, stamp)).toMatch(/is not the id this sync gives its key/);
    // the id of another key, or of another sync, is not this event's
    expect(googleCopyReason({ id: googleEventId('s', uidKey({ uid: 'other' })) }, stamp)).toBeDefined();
    expect(isOurGoogleId('other-sync', key, googleEventId('s', key))).toBe(false);
  });
  test('every id the writes can give a key is ours: generation 0 (also restored after a delete) up to the last fallback generation', () => {
    for (let gen = 0; gen <= MAX_ID_GENERATION; gen++) {
      expect(isOurGoogleId('s', key, googleEventId('s', key, gen))).toBe(true);
      expect(googleCopyReason({ id: googleEventId('s', key, gen) }, stamp)).toBeUndefined();
    }
    expect(isOurGoogleId('s', key, googleEventId('s', key, MAX_ID_GENERATION + 1))).toBe(false);
  });
  test('an override is ours when it is an instance of our series; a copy of it is not', () => {
    const master = googleEventId('s', key);
    const rid = { dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' };
    const oStamp = { ...stamp, sourceKey: overrideKey(key, rid) };
    expect(googleCopyReason({ id: googleInstanceId(master, rid), recurringEventId: master }, oStamp)).toBeUndefined();
    // an instance that inherited the master's stamp
    expect(googleCopyReason({ id: googleInstanceId(master, rid), recurringEventId: master }, stamp)).toBeUndefined();
    expect(googleCopyReason({ id: 'copyofinstance0000000000', recurringEventId: 'someoneelsesseries' }, oStamp)).toMatch(/did not create/);
    expect(googleCopyReason({ id: 'copyofinstance0000000000' }, oStamp)).toBeDefined();
  });
});

describe('Graph: created ids recorded in the provider state', () => {
  const key = uidKey(e);
  const t = (id: string, created: string, k = key): TargetEvent => ({ id, calendarId: 'room', event: { ...e, created }, stamp: { syncId: 's', sourceKey: k, fingerprint: 'f' } });
  const created = (id: string, k = key): WriteResult => ({ op: { op: 'create', calendarId: 'room', key: k, event: e, stamp: { syncId: 's', sourceKey: k, fingerprint: 'f' } }, ok: true, targetId: id });
  const deleted = (id: string, k = key): WriteResult => ({ op: { op: 'delete', calendarId: 'room', key: k, targetId: id }, ok: true });

  test('an event not recorded for its key is a copy; both events of a race are ours', async () => {
    const rec = new CreatedIdRecord(new MemoryKeyValueStore());
    await rec.noteWrites('room', [created('A')]);
    const [a, copy] = await rec.markCopies('room', 's', [t('A', '2026-11-01T00:00:00Z'), t('C', '2026-11-02T00:00:00Z')]);
    expect(a.copy).toBeUndefined();
    expect(copy.copy).toMatch(/not an event this sync created/);
    // Two workers sharing the store both created an event for the key: both recorded, the planner removes one.
    const store = new MemoryKeyValueStore();
    const w1 = new CreatedIdRecord(store);
    const w2 = new CreatedIdRecord(store);
    await Promise.all([w1.noteWrites('room', [created('X')]), w2.noteWrites('room', [created('Y')])]);
    const both = await new CreatedIdRecord(store).markCopies('room', 's', [t('X', '2026-11-01T00:00:00Z'), t('Y', '2026-11-01T00:00:01Z')]);
    expect(both.map((x) => x.copy)).toEqual([undefined, undefined]);
  });

  test('without a record (state lost) the oldest event of a key is adopted and recorded; younger ones are copies', async () => {
    const store = new MemoryKeyValueStore();
    const listed = await new CreatedIdRecord(store).markCopies('room', 's', [t('young', '2026-11-05T00:00:00Z'), t('old', '2026-11-01T00:00:00Z')]);
    expect(listed.map((x) => `${x.id}:${x.copy ? 'copy' : 'ours'}`)).toEqual(['young:copy', 'old:ours']);
    // adopted for good: the next listing agrees, also in a new process sharing the store
    expect((await new CreatedIdRecord(store).markCopies('room', 's', [t('young', '2026-11-05T00:00:00Z'), t('old', '2026-11-01T00:00:00Z')])).map((x) => !!x.copy)).toEqual([true, false]);
  });

  test('after we deleted our event, a copy left behind is not adopted', async () => {
    const rec = new CreatedIdRecord(new MemoryKeyValueStore());
    await rec.noteWrites('room', [created('A')]);
    await rec.markCopies('room', 's', [t('A', '2026-11-01T00:00:00Z'), t('C', '2026-11-02T00:00:00Z')]);
    await rec.noteWrites('room', [deleted('A')]);
    const [c] = await rec.markCopies('room', 's', [t('C', '2026-11-02T00:00:00Z')]);
    expect(c.copy).toBeDefined();
  });

  test('one record per mailbox: the same entries tell copies and give the prior id of a create\'s transactionId', async () => {
    const data = new Map<string, string>();
    const store = { get: (k: string) => data.get(k), set: (k: string, v: string | undefined) => void (v === undefined ? data.delete(k) : data.set(k, v)) };
    const stamp = { syncId: 's', sourceKey: key, fingerprint: 'f' };
    const w1 = new CreatedIdRecord(store);
    // Never written: no prior id (the transactionId is the plain one).
    expect(await w1.priorIdFor('Room', stamp)).toBeUndefined();
    await w1.noteWrites('room', [created('A')]);
    await w1.markCopies('room', 's', [t('A', '2026-11-01T00:00:00Z')]);
    const afterA = await w1.priorIdFor('ROOM', stamp);
    expect(afterA).toMatch(/^[0-9a-f]{16}$/);
    // A person deletes A (no listing shows it): a second worker sharing the store derives the same prior id.
    const w2 = new CreatedIdRecord(store);
    await w2.markCopies('room', 's', []);
    expect(await w2.priorIdFor('room', stamp)).toBe(afterA);
    expect(transactionIdFor(stamp, await w2.priorIdFor('room', stamp))).not.toBe(transactionIdFor(stamp));
    // We delete it ourselves: it is no longer ours (a copy is not adopted), but still the prior id.
    await w1.noteWrites('room', [deleted('A')]);
    const [copy] = await w1.markCopies('room', 's', [t('C', '2026-11-02T00:00:00Z')]);
    expect(copy.copy).toBeDefined();
    expect(await w1.priorIdFor('room', stamp)).toBe(afterA);
    // Re-created as B: the next listing's prior id is B's, so a later re-create sends yet another transactionId.
    await w1.noteWrites('room', [created('B')]);
    await w2.markCopies('room', 's', [t('B', '2026-11-03T00:00:00Z')]);
    const afterB = await w2.priorIdFor('room', stamp);
    expect(afterB).toBeDefined();
    expect(afterB).not.toBe(afterA);
    // One store entry holds both: no parallel ledger.
    expect([...data.keys()]).toEqual(['graph-created:room:s']);
    const saved = JSON.parse(data.get('graph-created:room:s')!);
    expect(Object.keys(saved).sort()).toEqual(['ids', 'last', 'v']);
  });

  test('a record written before the ledger (v1: ids only) is read: ownership kept, its newest id is the prior id', async () => {
    const store = new MemoryKeyValueStore();
    const old = new CreatedIdRecord(store);
    await old.noteWrites('room', [created('A')]);
    const v2 = JSON.parse(store.get('graph-created:room:s') as string);
    store.set('graph-created:room:s', JSON.stringify({ v: 1, ids: v2.ids }));
    const rec = new CreatedIdRecord(store);
    const [a, c] = await rec.markCopies('room', 's', [t('A', '2026-11-01T00:00:00Z'), t('C', '2026-11-02T00:00:00Z')]);
    expect([a.copy, !!c.copy]).toEqual([undefined, true]);
    expect(await rec.priorIdFor('room', { syncId: 's', sourceKey: key, fingerprint: 'f' })).toBe(v2.last[Object.keys(v2.last)[0]]);
  });
});
