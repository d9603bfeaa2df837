/**
 * The benchmark feed (bench/feed-generator.ts) must itself be valid RFC 5545 text: CRLF, physical
 * lines of at most 75 octets (its SUMMARY holds an en dash, 3 octets in UTF-8), no UTF-8 sequence
 * split by a fold, and the unfolded text equal to what was meant.
 */
import { generateFeed } from '../../bench/feed-generator';

describe('benchmark feed generator', () => {
  const feed = generateFeed({ events: 300, seed: 7 });
  const physical = feed.split('\r\n').slice(0, -1);

  test('CRLF only, every physical line at most 75 octets', () => {
    expect(feed.endsWith('\r\n')).toBe(true);
    expect(feed.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const long = physical.filter((l) => Buffer.byteLength(l, 'utf8') > 75);
    expect(long.slice(0, 3)).toEqual([]);
  });

  test('folds never split a UTF-8 sequence, and unfolding restores the lines', () => {
    const bytes = Buffer.from(feed, 'utf8');
    // a fold is CRLF + space; the byte after it must not be a UTF-8 continuation byte (10xxxxxx)
    for (let i = bytes.indexOf('\r\n '); i >= 0; i = bytes.indexOf('\r\n ', i + 1)) expect(bytes[i + 3] & 0xc0).not.toBe(0x80);
    const unfolded = feed.replace(/\r\n /g, '').split('\r\n');
    const summaries = unfolded.filter((l) => l.startsWith('SUMMARY:'));
    expect(summaries).toHaveLength(300);
    expect(summaries[12]).toBe('SUMMARY:Lecture 12 – Advanced topics in room scheduling, part 5 (group M)');
    expect(unfolded.filter((l) => l === 'BEGIN:VEVENT')).toHaveLength(300);
  });
});
