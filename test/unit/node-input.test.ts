/**
 * nodes/shared/input.ts: how one n8n item becomes events. An item holding an empty list is zero
 * events (Room Sync's empty-source guard then speaks); only an item with no list at all is read
 * as one record.
 */
import { eventsOfItem } from '../../nodes/shared/input';

const record = { id: 4711, title: 'OSCE circuit A', start: '2026-11-23T09:00:00Z', end: '2026-11-23T12:00:00Z', room: { id: 1, name: 'Sim Room 1' } };

describe('eventsOfItem (JSON record preset)', () => {
  const params = { inputFormat: 'json', preset: 'learningspace', fieldMap: {} };

  test('an item with an empty "events" array is zero events, not one broken record', () => {
    expect(eventsOfItem({ json: { events: [] } }, params)).toEqual([]);
    expect(eventsOfItem({ json: { data: [] } }, params)).toEqual([]);
  });

  test('an item with the list reads every entry', () => {
    const events = eventsOfItem({ json: { events: [record, { ...record, id: 4712 }] } }, params);
    expect(events.map((e) => e.uid)).toEqual(['4711', '4712']);
  });

  test('an item with no list at all is the record itself', () => {
    const events = eventsOfItem({ json: record }, params);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ uid: '4711', title: 'OSCE circuit A', rooms: ['1'] });
  });

  test('an item that is neither a list nor a usable record names the missing field', () => {
    expect(() => eventsOfItem({ json: { title: 'no times' } }, params)).toThrow(/start/);
  });
});

describe('eventsOfItem (Calendar Relay events)', () => {
  test('an empty "events" array is zero events', () => {
    expect(eventsOfItem({ json: { events: [] } }, { inputFormat: 'events' })).toEqual([]);
  });
});
