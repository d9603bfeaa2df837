import type { CalendarEvent } from '../../core/event';
import { buildPlan } from '../../core/plan';
import { routeEvents, routingTargets, routingValues, RoutingConfigError, type RoutingConfig } from '../../core/routing';

function ev(uid: string, extra: Partial<CalendarEvent> = {}): CalendarEvent {
  return { uid, title: uid, start: { dateTime: '2025-01-20T09:00:00Z' }, end: { dateTime: '2025-01-20T10:00:00Z' }, ...extra };
}

const routedTo = (r: ReturnType<typeof routeEvents>, uid: string) => r.routed.filter((x) => x.event.uid === uid).map((x) => x.calendarId).sort();

describe('routeEvents', () => {
  test('fixed target (one or several)', () => {
    const r = routeEvents([ev('a'), ev('b')], { target: ['room1', 'room2'] });
    expect(routedTo(r, 'a')).toEqual(['room1', 'room2']);
    expect(r.unmapped).toEqual([]);
  });

  test('by location, case-insensitive and trimmed; unmapped reported', () => {
    const cfg: RoutingConfig = { by: { kind: 'location' }, map: { ' Room 101 ': 'r101@x', 'AULA': ['aula@x', 'aula-av@x'] } };
    const r = routeEvents([ev('a', { location: 'room 101' }), ev('b', { location: 'Aula' }), ev('c', { location: 'Gym' }), ev('d')], cfg);
    expect(routedTo(r, 'a')).toEqual(['r101@x']);
    expect(routedTo(r, 'b')).toEqual(['aula-av@x', 'aula@x']);
    expect(r.unmapped.map((u) => [u.event.uid, u.reason])).toEqual([
      ['c', 'location "Gym" not in the room map'],
      ['d', 'no location to route by'],
    ]);
  });

  test("match 'contains' for free-text locations", () => {
    const r = routeEvents([ev('a', { location: 'Building A, Room 101 (2nd floor)' })], { by: { kind: 'location' }, map: { 'room 101': 'r101' }, match: 'contains' });
    expect(routedTo(r, 'a')).toEqual(['r101']);
  });

  test('by rooms ids, several values → several calendars; a missing one is reported', () => {
    const r = routeEvents([ev('a', { rooms: ['R1', 'r2'] }), ev('b', { rooms: ['R1', 'R9'] })], { by: { kind: 'rooms' }, map: { r1: 'c1', R2: 'c2' } });
    expect(routedTo(r, 'a')).toEqual(['c1', 'c2']);
    expect(routedTo(r, 'b')).toEqual(['c1']);
    expect(r.unmapped).toEqual([{ event: expect.objectContaining({ uid: 'b' }), reason: 'rooms "R9" not in the room map (routed to the other value(s) only)' }]);
  });

  test('by X-KALTURA-RESOURCE-IDS (comma-separated)', () => {
    const e = ev('a', { xProps: [{ name: 'X-KALTURA-RESOURCE-IDS', value: '101, 202' }, { name: 'X-OTHER', value: '303' }] });
    const r = routeEvents([e], { by: { kind: 'xProp', name: 'x-kaltura-resource-ids' }, map: { '101': 'roomA', '202': 'roomB', '303': 'wrong' } });
    expect(routedTo(r, 'a')).toEqual(['roomA', 'roomB']);
  });

  test('by JSON path, with default for the rest', () => {
    const cfg: RoutingConfig = { by: { kind: 'path', path: 'xProps.0.value' }, map: { lab: 'lab@x' }, default: 'fallback@x' };
    const r = routeEvents([ev('a', { xProps: [{ name: 'X-ROOM', value: 'LAB' }] }), ev('b', { xProps: [{ name: 'X-ROOM', value: 'nowhere' }] }), ev('c')], cfg);
    expect(routedTo(r, 'a')).toEqual(['lab@x']);
    expect(routedTo(r, 'b')).toEqual(['fallback@x']);
    expect(routedTo(r, 'c')).toEqual(['fallback@x']);
    expect(r.unmapped).toEqual([]);
    expect(routingValues(ev('x', { rooms: ['a', 'b'] }), { kind: 'path', path: 'rooms' })).toEqual(['a', 'b']);
  });

  test('bad configs are named errors', () => {
    expect(() => routeEvents([], {})).toThrow(RoutingConfigError);
    expect(() => routeEvents([], { by: { kind: 'location' } })).toThrow(/needs a "map"/);
    expect(() => routeEvents([], { by: { kind: 'xProp', name: '' }, map: {} })).toThrow(/needs a property "name"/);
  });

  test('routingTargets lists every calendar a config can reach', () => {
    expect(routingTargets({ by: { kind: 'location' }, map: { a: 'c1', b: ['c2', 'c1'] }, default: 'c3' }).sort()).toEqual(['c1', 'c2', 'c3']);
    expect(routingTargets({ target: 'x' })).toEqual(['x']);
  });

  test('planSync takes a RoutingResult: unmapped events appear in the plan and its warnings', () => {
    const r = routeEvents([ev('a', { location: 'Room 1' }), ev('b', { location: 'Mars' })], { by: { kind: 'location' }, map: { 'room 1': 'r1' } });
    const plan = buildPlan(r, [], { syncId: 's' }, Date.UTC(2025, 0, 15));
    expect(plan.ops.map((o) => [o.action, o.calendarId])).toEqual([['create', 'r1']]);
    expect(plan.unmapped).toEqual([{ uid: 'b', title: 'b', start: { dateTime: '2025-01-20T09:00:00Z' }, reason: 'location "Mars" not in the room map' }]);
    expect(plan.warnings).toContain('not routed: "b" (UID b): location "Mars" not in the room map');
  });

  test('re-routing moves an event: delete in the old room says where it went', () => {
    const plan1 = buildPlan([{ calendarId: 'old', event: ev('a') }], [], { syncId: 's' }, Date.UTC(2025, 0, 15));
    const written = plan1.ops.map((o) => ({ id: 't1', calendarId: 'old', event: o.event!, stamp: { syncId: 's', sourceKey: o.key, fingerprint: o.fingerprint! } }));
    const plan2 = buildPlan([{ calendarId: 'new', event: ev('a') }], written, { syncId: 's' }, Date.UTC(2025, 0, 15));
    expect(plan2.ops.map((o) => `${o.action} ${o.calendarId}: ${o.reason}`).sort()).toEqual(['create new: new in source', 'delete old: no longer routed to this calendar (now in new)']);
  });
});

describe('events that become unmapped', () => {
  const NOW = Date.UTC(2025, 0, 15);
  const cfg: RoutingConfig = { by: { kind: 'location' }, map: { 'raum 107': 'r107@x', 'raum 108': 'r108@x' } };
  const written = (events: CalendarEvent[], identity: 'uid' | 'content' = 'uid') => {
    const plan = buildPlan(routeEvents(events, cfg), [], { syncId: 's', identity }, NOW);
    return plan.ops.filter((o) => o.action === 'create').map((o, i) => ({ id: `t${i}`, calendarId: o.calendarId, event: o.event!, stamp: { syncId: 's', sourceKey: o.key, fingerprint: o.fingerprint! } }));
  };
  const before = [ev('a', { location: 'Raum 107' }), ev('b', { location: 'Raum 107' }), ev('c', { location: 'Raum 108' })];
  // The source renamed "Raum 107" to "R107": a and b no longer map to any room.
  const after = [ev('a', { location: 'R107' }), ev('b', { location: 'R107' }), ev('c', { location: 'Raum 108' })];

  // A typo in the room map: the events are the same, "Raum 107" maps nowhere now.
  const typo: RoutingConfig = { by: { kind: 'location' }, map: { 'raum 17': 'r107@x', 'raum 108': 'r108@x' } };
  test.each<['uid' | 'content', 'renamed in source' | 'typo in the map']>([['uid', 'renamed in source'], ['uid', 'typo in the map'], ['content', 'typo in the map']])('identity %s, %s: kept by default, reported, not deleted', (identity, how) => {
    const routing = how === 'typo in the map' ? routeEvents(before, typo) : routeEvents(after, cfg);
    const plan = buildPlan(routing, written(before, identity), { syncId: 's', identity }, NOW);
    expect(plan.counts.delete).toBe(0);
    expect(plan.ops.filter((o) => o.calendarId === 'r107@x').map((o) => `${o.action}: ${o.reason}`)).toEqual([
      'skip: source event no longer maps to a room: kept', 'skip: source event no longer maps to a room: kept',
    ]);
    expect(plan.unmapped.map((u) => u.uid).sort()).toEqual(['a', 'b']);
  });

  test("policy unmapped: 'delete' makes the deletion explicit (and it counts against maxDeletes)", () => {
    const plan = buildPlan(routeEvents(after, cfg), written(before), { syncId: 's', unmapped: 'delete' }, NOW);
    expect(plan.ops.filter((o) => o.action === 'delete').map((o) => o.reason)).toEqual([
      'source event no longer maps to a room (unmapped: delete)', 'source event no longer maps to a room (unmapped: delete)',
    ]);
  });

  test('a series that becomes unmapped keeps its overrides and expanded occurrences too', () => {
    const series = ev('s', { location: 'Raum 107', recurrence: { rrule: ['FREQ=DAILY;COUNT=3'], rdate: [], exdate: [] } });
    const moved = ev('s', { location: 'Raum 107', recurrenceId: { dateTime: '2025-01-21T09:00:00Z' }, start: { dateTime: '2025-01-21T11:00:00Z' }, end: { dateTime: '2025-01-21T12:00:00Z' } });
    const w = written([series, moved]);
    expect(w).toHaveLength(2);
    const plan = buildPlan(routeEvents([{ ...series, location: 'R107' }, { ...moved, location: 'R107' }], cfg), w, { syncId: 's' }, NOW);
    expect(plan.counts.delete).toBe(0);
    expect(plan.ops.filter((o) => o.action === 'skip').map((o) => o.reason)).toEqual(['source event no longer maps to a room: kept', 'source event no longer maps to a room: kept']);
  });
});
