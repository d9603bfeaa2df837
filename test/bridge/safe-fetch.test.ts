/**
 * Safe outbound fetching (SSRF): the addresses the issue lists, literally, behind redirects and
 * behind a DNS name (a test resolver). Nothing is sent to a non-loopback address: the refused
 * private addresses are refused before any connection, and the only servers are on 127.0.0.2
 * (allowed by the allow-list in these tests) — a connection attempt to a refused loopback address
 * would reach no server there, and the `hits` counters prove nothing arrived.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { blockedReason, checkUrl, allowListOf, createSafeFetch, embeddedV4, UnsafeUrlError } from '../../bridge/src/safe-fetch';

const REFUSED = ['http://127.0.0.1/', 'http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://0177.0.0.1/', 'http://0x7f.0.0.1/', 'http://[fd00::1]/', 'http://[fe80::1]/', 'http://192.168.1.1/', 'http://172.16.0.1/', 'http://100.64.0.1/', 'http://0.0.0.0/', 'http://[::]/', 'http://[64:ff9b::a9fe:a9fe]/', 'http://[2002:a00:1::]/'];

describe('address classification', () => {
  test.each([
    ['127.0.0.1', 'loopback'], ['10.0.0.1', 'private'], ['169.254.169.254', 'link-local (cloud metadata)'], ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback (IPv4 127.0.0.1 inside IPv6)'], ['::ffff:7f00:1', 'loopback (IPv4 127.0.0.1 inside IPv6)'],
    ['fd12:3456::1', 'unique-local'], ['fe80::1', 'link-local'], ['224.0.0.1', 'multicast'],
  ])('%s is refused as %s', (addr, why) => expect(blockedReason(addr)).toBe(why));
  test.each(['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:93.184.216.34', '8.8.8.8'])('%s is public', (addr) => expect(blockedReason(addr)).toBeUndefined());
  test('embedded IPv4 forms', () => {
    expect(embeddedV4('::ffff:a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedV4('64:ff9b::10.0.0.1')).toBe('10.0.0.1');
    expect(embeddedV4('2002:7f00:1::')).toBe('127.0.0.1');
    expect(embeddedV4('2606:2800::1')).toBeUndefined();
  });
  test('bad allow-list entries are named', () => {
    expect(() => allowListOf(['10.0.0.0/8', 'intranet.local'])).toThrow('"intranet.local"');
    expect(() => allowListOf(['10.0.0.0/33'])).toThrow('"10.0.0.0/33"');
  });
});

describe('checkUrl (no network)', () => {
  const resolver = async (host: string) => {
    const table: Record<string, string[]> = { 'public.test': ['93.184.216.34'], 'inside.test': ['10.0.0.1'], 'mixed.test': ['93.184.216.34', '127.0.0.1'], 'meta.test': ['169.254.169.254'], 'six.test': ['::ffff:127.0.0.1'] };
    if (!table[host]) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return table[host];
  };
  const allow = allowListOf([]);
  test.each(REFUSED)('%s is refused', async (u) => {
    await expect(checkUrl(new URL(u), { allow, resolver })).rejects.toThrow(UnsafeUrlError);
  });
  test.each(['inside.test', 'mixed.test', 'meta.test', 'six.test'])('a name resolving to a refused address (%s) is refused', async (h) => {
    await expect(checkUrl(new URL(`https://${h}/cal.ics`), { allow, resolver })).rejects.toThrow(/refused/);
  });
  test('a public name and the allow-list pass', async () => {
    await expect(checkUrl(new URL('https://public.test/x.ics'), { allow, resolver })).resolves.toEqual({ address: '93.184.216.34', family: 4 });
    await expect(checkUrl(new URL('http://inside.test/'), { allow: allowListOf(['10.0.0.0/8']), resolver })).resolves.toEqual({ address: '10.0.0.1', family: 4 });
    await expect(checkUrl(new URL('http://[::ffff:10.0.0.1]/'), { allow: allowListOf(['10.0.0.0/8']), resolver })).resolves.toMatchObject({ family: 6 });
  });
  test('other schemes and unresolvable names are refused', async () => {
    await expect(checkUrl(new URL('file:///etc/passwd'), { allow, resolver })).rejects.toThrow('file: URLs');
    await expect(checkUrl(new URL('http://nowhere.test/'), { allow, resolver })).rejects.toThrow('ENOTFOUND');
  });
});

describe('createSafeFetch against loopback servers on 127.0.0.2 (allow-listed)', () => {
  let server: Server;
  let base = '';
  let hits = 0;
  let trap: Server;
  let trapHits = 0;
  let trapPort = 0;
  const feed = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n';

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/redirect') return res.writeHead(302, { location: u.searchParams.get('to') ?? '/' }).end();
      if (u.pathname === '/loop') return res.writeHead(301, { location: '/loop' }).end();
      if (u.pathname === '/gz') return res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/calendar' }).end(gzipSync(feed));
      if (u.pathname === '/auth') return res.writeHead(200).end(String(req.headers.authorization ?? 'none'));
      res.writeHead(200, { 'content-type': 'text/calendar', etag: '"v1"' }).end(feed);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', () => r()));
    base = `http://127.0.0.2:${(server.address() as AddressInfo).port}`;
    // A server on 127.0.0.1 (refused): if a check failed, a request would land here.
    trap = createServer((_req, res) => {
      trapHits++;
      res.end('leak');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    trapPort = (trap.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => trap.close(r));
  });

  const safe = () => createSafeFetch({ allow: ['127.0.0.2/32'], resolver: async (h) => ({ 'feed.test': ['127.0.0.2'], 'sneaky.test': ['127.0.0.1'] })[h] ?? [] });

  test('an allowed address is fetched, gzip decoded', async () => {
    const res = await safe()(`${base}/gz`, {});
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(feed);
    const plain = await safe()(`${base}/plain`);
    expect(plain.headers.get('etag')).toBe('"v1"');
  });

  test('without the allow-list, loopback is refused before connecting', async () => {
    const before = hits;
    await expect(createSafeFetch()(`${base}/plain`)).rejects.toThrow(/127\.0\.0\.2 is a loopback address; refused/);
    expect(hits).toBe(before);
  });

  const targets = ['127.0.0.1', '10.0.0.1', '169.254.169.254', '[::1]', '[::ffff:127.0.0.1]', '2130706433', 'sneaky.test'];
  test.each(targets)('a redirect to %s is refused', async (host) => {
    const to = `http://${host}:${trapPort}/x`;
    await expect(safe()(`${base}/redirect?to=${encodeURIComponent(to)}`)).rejects.toThrow(UnsafeUrlError);
    expect(trapHits).toBe(0);
  });

  test('a redirect to an allowed place is followed; credentials stay on the origin', async () => {
    const res = await safe()(`${base}/redirect?to=/auth`, { headers: { authorization: 'Bearer s3cret' } });
    expect(await res.text()).toBe('Bearer s3cret');
    const port = base.split(':').pop();
    const cross = await safe()(`${base}/redirect?to=${encodeURIComponent(`http://feed.test:${port}/auth`)}`, { headers: { authorization: 'Bearer s3cret' } });
    expect(await cross.text()).toBe('none');
  });

  test('redirect loops end', async () => {
    await expect(safe()(`${base}/loop`)).rejects.toThrow('more than 5 redirects');
  });

  test('a name resolving to a refused address is refused', async () => {
    await expect(safe()(`http://sneaky.test:${trapPort}/`)).rejects.toThrow('sneaky.test (127.0.0.1) is a loopback address');
    expect(trapHits).toBe(0);
  });
});
