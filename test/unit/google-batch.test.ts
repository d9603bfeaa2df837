import { boundaryOf, buildBatch, parseBatchResponse, BatchFormatError } from '../../providers/google/batch';

describe('buildBatch', () => {
  it('writes one application/http part per call with Content-ID, JSON bodies and lengths', () => {
    const b = buildBatch([
      { method: 'POST', path: '/calendar/v3/calendars/room%40x/events', body: { summary: 'Zürich' } },
      { method: 'DELETE', path: '/calendar/v3/calendars/room%40x/events/abc' },
      { method: 'PUT', path: '/calendar/v3/calendars/room%40x/events/def', headers: { 'If-Match': '"e1"' }, body: { summary: 'x' } },
    ], 'BOUNDARY');
    expect(b.contentType).toBe('multipart/mixed; boundary=BOUNDARY');
    const parts = b.body.split('--BOUNDARY');
    expect(parts).toHaveLength(5); // '' + 3 parts + '--\r\n'
    expect(parts[4]).toBe('--\r\n');
    expect(parts[1]).toContain('Content-Type: application/http\r\n');
    expect(parts[1]).toContain('Content-ID: <item-0>\r\n\r\nPOST /calendar/v3/calendars/room%40x/events HTTP/1.1\r\n');
    // Content-Length counts bytes, not characters.
    expect(parts[1]).toContain(`Content-Length: ${Buffer.byteLength('{"summary":"Zürich"}')}\r\n`);
    expect(parts[1]).toContain('\r\n\r\n{"summary":"Zürich"}\r\n');
    expect(parts[2]).toContain('DELETE /calendar/v3/calendars/room%40x/events/abc HTTP/1.1\r\n\r\n');
    expect(parts[2]).not.toContain('Content-Length');
    expect(parts[3]).toContain('If-Match: "e1"\r\n');
    expect(parts[3]).toContain('Content-ID: <item-2>');
  });

  it('generates a fresh boundary by default', () => {
    const a = buildBatch([{ method: 'GET', path: '/x' }]);
    const b = buildBatch([{ method: 'GET', path: '/x' }]);
    expect(a.boundary).not.toBe(b.boundary);
    expect(boundaryOf(a.contentType)).toBe(a.boundary);
  });

  it('round-trips through the parser when a server echoes parts (structure check)', () => {
    const built = buildBatch([{ method: 'GET', path: '/a' }, { method: 'GET', path: '/b' }], 'X');
    // Turn each request part into a response part the way Google does.
    const response = built.body
      .replace(/Content-ID: <item-(\d)>/g, 'Content-ID: <response-item-$1>')
      .replace(/GET \/(\w) HTTP\/1\.1\r\n/g, 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"path":"$1"}');
    const parsed = parseBatchResponse('multipart/mixed; boundary=X', response);
    expect(parsed.map((p) => [p.index, p.status, JSON.parse(p.body).path])).toEqual([[0, 200, 'a'], [1, 200, 'b']]);
  });
});

describe('parseBatchResponse', () => {
  const google = [
    'preamble to ignore',
    '--batch_abc-DEF_1',
    'Content-Type: application/http',
    'Content-ID: <response-item-1>',
    '',
    'HTTP/1.1 409 Conflict',
    'Content-Type: application/json; charset=UTF-8',
    '',
    '{"error":{"errors":[{"domain":"global","reason":"duplicate"}],"code":409}}',
    '--batch_abc-DEF_1',
    'Content-Type: application/http',
    'Content-ID: <response-item-0>',
    '',
    'HTTP/1.1 200 OK',
    'ETag: "e2"',
    'Content-Type: application/json; charset=UTF-8',
    '',
    // the boundary text inside a body is not a delimiter (no leading "--" at line start)
    '{"id":"a","description":"see batch_abc-DEF_1\\n--not-a-boundary"}',
    '--batch_abc-DEF_1',
    'Content-Type: application/http',
    'Content-ID: <response-item-2>',
    '',
    'HTTP/1.1 204 No Content',
    '',
    '',
    '--batch_abc-DEF_1',
    'Content-Type: application/http',
    'Content-ID: <response-item-3>',
    '',
    'HTTP/1.1 403 Forbidden',
    'Retry-After: 7',
    '',
    '{"error":{"errors":[{"domain":"usageLimits","reason":"rateLimitExceeded"}],"code":403}}',
    '--batch_abc-DEF_1--',
    'epilogue',
  ];

  it.each([['CRLF', '\r\n'], ['LF', '\n']])('parses mixed statuses matched by Content-ID (%s)', (_n, eol) => {
    const parts = parseBatchResponse('multipart/mixed; boundary="batch_abc-DEF_1"', google.join(eol));
    const byIndex = new Map(parts.map((p) => [p.index, p]));
    expect([...byIndex.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(byIndex.get(0)!.status).toBe(200);
    expect(byIndex.get(0)!.headers.etag).toBe('"e2"');
    expect(JSON.parse(byIndex.get(0)!.body).description).toBe('see batch_abc-DEF_1\n--not-a-boundary');
    expect(byIndex.get(1)!.status).toBe(409);
    expect(JSON.parse(byIndex.get(1)!.body).error.errors[0].reason).toBe('duplicate');
    expect(byIndex.get(2)!.status).toBe(204);
    expect(byIndex.get(2)!.body.trim()).toBe('');
    expect(byIndex.get(3)!.headers['retry-after']).toBe('7');
  });

  it('falls back to position without Content-ID and keeps the parts of a truncated body', () => {
    const body = '--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 500 Internal\r\n\r\n{"e":1}';
    const parts = parseBatchResponse('multipart/mixed; boundary=b', body);
    expect(parts.map((p) => [p.index, p.status])).toEqual([[0, 200], [1, 500]]);
  });

  it('explains what is wrong with a malformed response', () => {
    expect(() => parseBatchResponse('application/json', '{}')).toThrow(/no boundary/);
    expect(() => parseBatchResponse('multipart/mixed; boundary=q', 'nothing here')).toThrow(BatchFormatError);
    expect(() => parseBatchResponse('multipart/mixed; boundary=q', '--q\r\nContent-Type: application/http\r\n\r\ngarbage\r\n--q--')).toThrow(/part 1 has no HTTP status line/);
  });
});
