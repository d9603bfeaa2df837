/** core/snapshot.ts: the trigger's poll-to-poll diff (added / changed / removed) and its small state. */
import { diffSnapshot, snapshotOf, describeKey, isSnapshot } from '../../core/snapshot';
import type { CalendarEvent } from '../../core/event';

function ev(uid: string, over: Partial<CalendarEvent> = {}): CalendarEvent {
  return {
    uid, sourceId: 'feed', title: `Event ${uid}`,
    start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2026-12-01T10:00:00', timeZone: 'Europe/Berlin' },
    ...over,
  };
}

describe('diffSnapshot', () => {
  const series = ev('s', { recurrence: { rrule: ['FREQ=WEEKLY;COUNT=5'], rdate: [], exdate: [] } });
  const override = ev('s', { recurrenceId: { dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' }, title: 'moved', start: { dateTime: '2026-12-08T11:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-08T12:00:00', timeZone: 'Europe/Berlin' } });

  it('first poll: everything is added; keys are the sync keys (master by UID, override by RECURRENCE-ID in UTC)', () => {
    const d = diffSnapshot(undefined, [ev('a'), series, override]);
    expect(d.added.map((a) => a.key)).toEqual(['k1 feed u:a', 'k1 feed u:s', 'k1 feed u:s r:20261208T080000Z']);
    expect(d.changed).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(Object.keys(d.next)).toHaveLength(3);
  });

  it('added → unchanged → changed → removed across polls', () => {
    const p1 = diffSnapshot(undefined, [ev('a'), ev('b')]);
    const p2 = diffSnapshot(p1.next, [ev('a'), ev('b', { sequence: 4, lastModified: '2026-11-30T00:00:00Z' })]);
    expect([p2.added.length, p2.changed.length, p2.removed.length, p2.unchanged]).toEqual([0, 0, 0, 2]);
    const p3 = diffSnapshot(p2.next, [ev('a'), ev('b', { title: 'renamed' })]);
    expect(p3.changed.map((c) => [c.key, c.event.title, c.previous === p2.next[c.key]])).toEqual([['k1 feed u:b', 'renamed', true]]);
    const p4 = diffSnapshot(p3.next, [ev('b', { title: 'renamed' })]);
    expect(p4.removed).toEqual([{ key: 'k1 feed u:a', fingerprint: p3.next['k1 feed u:a'] }]);
    expect(Object.keys(p4.next)).toEqual(['k1 feed u:b']);
  });

  it('a moved occurrence is a change of its override, not of the series', () => {
    const before = diffSnapshot(undefined, [series, override]).next;
    const d = diffSnapshot(before, [series, { ...override, title: 'moved again' }]);
    expect(d.changed.map((c) => c.key)).toEqual(['k1 feed u:s r:20261208T080000Z']);
  });

  it('content identity keys by what the event is and tells identical events apart', () => {
    const d = diffSnapshot(undefined, [ev('x1', { title: 'Same' }), ev('x2', { title: 'Same' })], { identity: 'content' });
    expect(d.added.map((a) => a.key)).toEqual([expect.stringMatching(/^k1 feed c:[0-9a-f]{32}$/), expect.stringMatching(/^k1 feed c:[0-9a-f]{32}\.2$/)]);
    // A new UID for the same content is no change.
    expect(diffSnapshot(d.next, [ev('y1', { title: 'Same' }), ev('y2', { title: 'Same' })], { identity: 'content' }).unchanged).toBe(2);
  });

  it('the state stays small: 16-character fingerprints, no event content, JSON round-trips', () => {
    const events = Array.from({ length: 200 }, (_, i) => ev(`uid-${i}@example.org`, { description: 'x'.repeat(2000) }));
    const snap = snapshotOf(events);
    expect(Object.values(snap).every((v) => /^[0-9a-f]{16}$/.test(v))).toBe(true);
    const json = JSON.stringify(snap);
    expect(json.length).toBeLessThan(200 * 60);
    expect(JSON.parse(json)).toEqual(snap);
    expect(isSnapshot(JSON.parse(json))).toBe(true);
    expect(isSnapshot([1])).toBe(false);
    expect(isSnapshot({ a: 1 })).toBe(false);
  });

  it('describeKey recovers source, UID and occurrence from a key', () => {
    expect(describeKey('k1 my%20feed u:a%40b r:20261208T080000Z')).toEqual({ sourceId: 'my feed', uid: 'a@b', occurrence: '20261208T080000Z' });
    expect(describeKey('k1 - u:x')).toEqual({ uid: 'x' });
  });
});
