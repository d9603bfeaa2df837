/** core/xprops.ts (which X- properties travel to a target) and their place in the fingerprint. */
import type { CalendarEvent } from '../../core/event';
import { fingerprint } from '../../core/fingerprint';
import { keptXProps, MAX_KEPT_XPROPS } from '../../core/xprops';

const base: CalendarEvent = { uid: 'u', title: 'Lecture', start: { dateTime: '2026-11-26T14:00:00Z' }, end: { dateTime: '2026-11-26T15:00:00Z' } };

describe('keptXProps', () => {
  test('X- names up to 44 chars and values up to 1024 chars, first of each name, upper-cased, params dropped', () => {
    expect(keptXProps({
      xProps: [
        { name: 'x-kaltura-id', value: '88120', params: { A: 'b' } },
        { name: 'X-KALTURA-ID', value: 'repeat' },
        { name: 'X-' + 'N'.repeat(42), value: '44 chars' },
        { name: 'X-' + 'N'.repeat(43), value: '45 chars' },
        { name: 'X-ALT-DESC', value: 'v'.repeat(1025) },
        { name: 'X-EDGE', value: 'v'.repeat(1024) },
        { name: 'X-BAD NAME', value: 'space' },
        { name: 'DTSTAMP', value: 'not X-' },
      ],
    })).toEqual([
      { name: 'X-KALTURA-ID', value: '88120' },
      { name: 'X-' + 'N'.repeat(42), value: '44 chars' },
      { name: 'X-EDGE', value: 'v'.repeat(1024) },
    ]);
  });
  test('at most MAX_KEPT_XPROPS, in file order', () => {
    const many = Array.from({ length: MAX_KEPT_XPROPS + 5 }, (_, i) => ({ name: `X-P${i}`, value: String(i) }));
    const kept = keptXProps({ xProps: many });
    expect(kept).toHaveLength(MAX_KEPT_XPROPS);
    expect(kept[MAX_KEPT_XPROPS - 1].name).toBe(`X-P${MAX_KEPT_XPROPS - 1}`);
  });
});

describe('fingerprint and X- properties', () => {
  const withX = { ...base, xProps: [{ name: 'X-KALTURA-ID', value: '88120' }, { name: 'X-KALTURA-RESOURCE-IDS', value: '5020' }] };
  test('an event without kept X- properties hashes as before (no rewrite of existing targets)', () => {
    // The value the fingerprint had before X- properties joined it (computed with that code).
    expect(fingerprint(base)).toBe('f1-d9e2ce3e0fdc89dd19fbf9813a8e6c59');
    expect(fingerprint({ ...base, xProps: [] })).toBe(fingerprint(base));
    expect(fingerprint({ ...base, xProps: [{ name: 'X-ALT-DESC', value: 'v'.repeat(2000) }] })).toBe(fingerprint(base));
  });
  test('a change to a kept X- property changes the fingerprint; order does not', () => {
    expect(fingerprint(withX)).not.toBe(fingerprint(base));
    expect(fingerprint({ ...withX, xProps: [{ name: 'X-KALTURA-ID', value: '88121' }, withX.xProps[1]] })).not.toBe(fingerprint(withX));
    expect(fingerprint({ ...withX, xProps: [withX.xProps[1], withX.xProps[0]] })).toBe(fingerprint(withX));
  });
});
