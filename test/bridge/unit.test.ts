/** Bridge pieces without a server: the snapshot diff, signatures, budgets, config layering, log redaction. */
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffSnapshots, snapshotEntries, snapshotHash } from '../../bridge/src/snapshot';
import { eventKey } from '../../core/event';
import { fingerprint } from '../../core/fingerprint';
import { snapshotOf } from '../../core/snapshot';
import { checkSignature, secretEquals, signPush } from '../../bridge/src/tokens';
import { RequestBudget } from '../../bridge/src/budget';
import { BridgeConfigError, loadBridgeConfig } from '../../bridge/src/config';
import { redactUrl } from '../../bridge/src/logging';
import { backoffMs } from '../../bridge/src/outbox';

const ev = (uid: string, title: string, rid?: string) => ({
  uid, title, start: { dateTime: '2030-01-10T09:00:00Z' }, end: { dateTime: '2030-01-10T10:00:00Z' },
  ...(rid ? { recurrenceId: { dateTime: rid } } : {}),
});

describe('diffSnapshots', () => {
  test('table: added, changed, removed, unchanged; overrides are their own keys', () => {
    const prev = snapshotEntries([ev('a', 'A'), ev('b', 'B'), ev('c', 'C'), ev('s', 'series'), ev('s', 'moved', '2030-01-17T09:00:00Z')]);
    const d = diffSnapshots(prev, [ev('a', 'A'), ev('b', 'B2'), ev('d', 'D'), ev('s', 'series'), ev('s', 'moved again', '2030-01-17T09:00:00Z')]);
    expect(d.added.map((e) => e.uid)).toEqual(['d']);
    expect(d.changed.map((c) => [c.before.title, c.after.title])).toEqual([['B', 'B2'], ['moved', 'moved again']]);
    expect(d.removed.map((e) => e.uid)).toEqual(['c']);
    expect(diffSnapshots(undefined, [ev('a', 'A')]).added).toHaveLength(1);
  });

  test('property: agrees with a per-UID oracle', () => {
    const side = fc.dictionary(fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5', 'u6'), fc.constantFrom('x', 'y', 'z'));
    fc.assert(fc.property(side, side, (before, after) => {
      const d = diffSnapshots(snapshotEntries(Object.entries(before).map(([u, t]) => ev(u, t))), Object.entries(after).map(([u, t]) => ev(u, t)));
      const uids = (l: Array<{ uid: string }>) => l.map((e) => e.uid).sort();
      expect(uids(d.added)).toEqual(Object.keys(after).filter((u) => !(u in before)).sort());
      expect(uids(d.removed)).toEqual(Object.keys(before).filter((u) => !(u in after)).sort());
      expect(uids(d.changed.map((c) => c.after))).toEqual(Object.keys(after).filter((u) => u in before && before[u] !== after[u]).sort());
    }));
  });
});

describe('the bridge snapshot is core\'s', () => {
  test('keys and fingerprints are core\'s snapshot keys', () => {
    const events = [ev('a', 'A'), ev('s', 'moved', '2030-01-17T09:00:00Z')];
    const entries = snapshotEntries(events);
    expect(Object.fromEntries(entries.map((e) => [e.key, e.fingerprint]))).toEqual(snapshotOf(events));
  });

  test('a snapshot stored by an older bridge (eventKey keys, full fingerprints) diffs and hashes the same', () => {
    const events = [ev('a', 'A'), ev('b', 'B'), ev('s', 'moved', '2030-01-17T09:00:00Z')];
    const legacy = events.map((event) => ({ key: eventKey(event), fingerprint: fingerprint(event), event }));
    expect(snapshotHash(legacy)).toBe(snapshotHash(snapshotEntries(events)));
    const d = diffSnapshots(legacy, [ev('a', 'A'), ev('b', 'B2'), ev('s', 'moved', '2030-01-17T09:00:00Z')]);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed.map((c) => [c.before.title, c.after.title])).toEqual([['B', 'B2']]);
  });

  test('a UID repeated in one push: the last revision wins', () => {
    const d = diffSnapshots(snapshotEntries([ev('a', 'A')]), [ev('a', 'first'), ev('a', 'last')]);
    expect(d.changed.map((c) => c.after.title)).toEqual(['last']);
  });
});

describe('signatures and secrets', () => {
  const body = Buffer.from('{"events":[]}');
  const key = 'k'.repeat(20);
  test('a fresh, matching signature passes; anything else names its reason', () => {
    const now = 1_900_000_000_000;
    const ts = String(now / 1000);
    expect(checkSignature(key, ts, signPush(key, ts, body), body, now, 300)).toEqual({ ok: true });
    expect(checkSignature(key, ts, signPush(key, ts, Buffer.from('{"events":[1]}')), body, now, 300)).toEqual({ ok: false, reason: 'signature does not match' });
    expect(checkSignature(key, String(now / 1000 - 301), signPush(key, String(now / 1000 - 301), body), body, now, 300)).toMatchObject({ ok: false, reason: expect.stringContaining('window') });
    expect(checkSignature(key, '12abc', 'sha256=00', body, now, 300)).toMatchObject({ ok: false, reason: expect.stringContaining('X-Relay-Timestamp') });
    // The timestamp is signed too: moving it forward breaks the signature.
    expect(checkSignature(key, String(now / 1000 + 1), signPush(key, ts, body), body, now, 300).ok).toBe(false);
  });
  test('secretEquals compares whole values of any length', () => {
    expect(secretEquals('abc', 'abc')).toBe(true);
    expect(secretEquals('abc', 'abcd')).toBe(false);
    expect(secretEquals('', 'x')).toBe(false);
  });
});

test('request budget: n per clock-aligned window per key, Retry-After to the window end', () => {
  const b = new RequestBudget(2, 10);
  expect(b.take('k', 0).ok).toBe(true);
  expect(b.take('k', 1000).ok).toBe(true);
  expect(b.take('k', 2500)).toEqual({ ok: false, retryAfterSec: 8 });
  expect(b.take('other', 2500).ok).toBe(true);
  expect(b.take('k', 10_000).ok).toBe(true);
});

test('backoff doubles up to the cap, with jitter in the upper half', () => {
  expect([1, 2, 3, 10].map((a) => backoffMs(a, 100, 1000, () => 1))).toEqual([100, 200, 400, 1000]);
  expect(backoffMs(3, 100, 1000, () => 0)).toBe(200);
});

test('log redaction replaces feed tokens and drops query strings', () => {
  expect(redactUrl('/feeds/abcDEF_-123.ics?x=1')).toBe('/feeds/<token>.ics');
  expect(redactUrl('/feeds/abcDEF/events/u%40x.ics')).toBe('/feeds/<token>/events/u%40x.ics');
  expect(redactUrl('/hooks/src?sig=secret')).toBe('/hooks/src');
});

describe('configuration layers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cr-bridge-config-'));
  const file = join(dir, 'bridge.yaml');
  writeFileSync(file, ['port: 9000', 'feedBudget: 20/hour', 'deliveryUrl: http://127.0.0.1:5678/webhook/x', 'sources:', '  lms:', '    hmacSecret: env:LMS_SECRET', '    preset: learningspace', '    partial: true'].join('\n'));

  test('file < environment < flags; env: references resolve', () => {
    const c = loadBridgeConfig(['--config', file, '--port', '9100'], { LMS_SECRET: 's'.repeat(32), DATABASE_URL: 'postgresql://x@127.0.0.1/db', CALENDAR_RELAY_BRIDGE_PORT: '9050' });
    expect(c.port).toBe(9100);
    expect(c.databaseUrl).toBe('postgresql://x@127.0.0.1/db');
    expect(c.feedBudget).toEqual({ requests: 20, windowSec: 3600, syncMs: 1000 });
    expect(c.sources.lms).toEqual({ hmacSecret: 's'.repeat(32), preset: 'learningspace', partial: true });
    expect(loadBridgeConfig(['--config', file], { LMS_SECRET: 's'.repeat(32), CALENDAR_RELAY_BRIDGE_PORT: '9050' }).port).toBe(9050);
  });

  test.each([
    [['--config', file], {}, 'LMS_SECRET is not set'],
    [['--port', '70000'], {}, 'port must be a whole number from 0 to 65535'],
    [['--nope', '1'], {}, 'unknown option --nope'],
    [['--feed-budget', 'lots'], {}, 'feed budget must look like 20/hour'],
    [['--delivery-url', 'ftp://x'], {}, 'deliveryUrl must be an http(s) URL'],
  ])('%j is refused with a clear message', (argv, env, message) => {
    expect(() => loadBridgeConfig(argv as string[], env)).toThrow(BridgeConfigError);
    expect(() => loadBridgeConfig(argv as string[], env)).toThrow(message as string);
  });

  test('feedSocketPath: on by default, false turns it off, anything but a boolean is refused', () => {
    const f = join(dir, 'socket.json');
    expect(loadBridgeConfig([], {}).feedSocketPath).toBe(true);
    writeFileSync(f, JSON.stringify({ feedSocketPath: false }));
    expect(loadBridgeConfig(['--config', f], {}).feedSocketPath).toBe(false);
    writeFileSync(f, JSON.stringify({ feedSocketPath: 'no' }));
    expect(() => loadBridgeConfig(['--config', f], {})).toThrow('feedSocketPath must be true or false, not "no"');
  });

  test('a source needs exactly one credential of at least 16 characters', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ sources: { a: { bearerToken: 'short' } } }));
    expect(() => loadBridgeConfig(['--config', f], {})).toThrow('at least 16 characters');
    writeFileSync(f, JSON.stringify({ sources: { a: {} } }));
    expect(() => loadBridgeConfig(['--config', f], {})).toThrow('exactly one of hmacSecret or bearerToken');
  });
});
