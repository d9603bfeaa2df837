/**
 * The generated Calendar v3 schema stays in step with @googleapis/calendar's .d.ts, and the
 * structural checker reports unknown/mistyped fields by path.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import googleSchema from '../../emulator/schema/google-calendar-v3.json';
import { formatIssues, validateBody, type SchemaFile } from '../../emulator/schema/validate';

const root = join(__dirname, '..', '..');
const SCHEMA = googleSchema as unknown as SchemaFile;

test('regenerating the schema from @googleapis/calendar yields the committed file', () => {
  // --check exits non-zero (execFileSync throws) when the output differs from the committed JSON.
  expect(() => execFileSync(process.execPath, [join(root, 'scripts/gen-emulator-schemas.mjs'), '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
});

test('the schema describes Event with its nested types', () => {
  expect(SCHEMA.source).toMatch(/@googleapis\/calendar@/);
  const ev = SCHEMA.types['Schema$Event'];
  expect(ev.t).toBe('object');
  if (ev.t !== 'object') return;
  for (const f of ['summary', 'start', 'end', 'recurrence', 'extendedProperties', 'attendees', 'iCalUID', 'sequence']) expect(ev.props[f]).toBeDefined();
  expect(SCHEMA.types['Schema$EventDateTime']).toBeDefined();
  expect(SCHEMA.types['Schema$EventAttendee']).toBeDefined();
});

describe('validateBody', () => {
  const ok = { summary: 's', start: { dateTime: '2024-01-01T00:00:00Z' }, end: { date: null }, recurrence: ['RRULE:FREQ=DAILY'], attendees: [{ email: 'a@b.c', optional: true }], extendedProperties: { private: { a: 'b' } }, reminders: { useDefault: false, overrides: [{ method: 'popup', minutes: 5 }] } };

  test('a well-formed event has no issues', () => {
    expect(validateBody(SCHEMA, 'Schema$Event', ok)).toEqual([]);
  });

  test.each([
    [{ summry: 'x' }, 'summry', 'unknown field'],
    [{ start: { dateTime: 5 } }, 'start.dateTime', 'must be a string, got number'],
    [{ attendees: [{ email: 'a' }, { emial: 'b' }] }, 'attendees[1].emial', 'unknown field'],
    [{ attendees: { email: 'a' } }, 'attendees', 'must be an array, got object'],
    [{ recurrence: 'RRULE:FREQ=DAILY' }, 'recurrence', 'must be an array, got string'],
    [{ extendedProperties: { private: { k: 1 } } }, 'extendedProperties.private.k', 'must be a string, got number'],
    [{ extendedProperties: { privat: {} } }, 'extendedProperties.privat', 'unknown field'],
    [{ reminders: { overrides: [{ minutes: '5' }] } }, 'reminders.overrides[0].minutes', 'must be a number, got string'],
    [{ anyoneCanAddSelf: 'yes' }, 'anyoneCanAddSelf', 'must be a boolean, got string'],
    [[], '', 'must be an object, got array'],
  ])('%j → %s: %s', (body, path, message) => {
    const issues = validateBody(SCHEMA, 'Schema$Event', body);
    expect(issues).toContainEqual({ path, message });
    expect(formatIssues(issues)).toContain(path || '(body)');
  });

  test('null is refused where the type does not allow it, unless allowNull (PATCH)', () => {
    expect(validateBody(SCHEMA, 'Schema$Event', { creator: { email: null } })).toEqual([{ path: 'creator.email', message: 'must be a string, got null' }]);
    expect(validateBody(SCHEMA, 'Schema$Event', { creator: { email: null } }, { allowNull: true })).toEqual([]);
    expect(validateBody(SCHEMA, 'Schema$Event', { summary: null })).toEqual([]); // the .d.ts says string | null
  });

  test('extraFields lets an API accept annotations the types lack', () => {
    expect(validateBody(SCHEMA, 'Schema$Event', { '@odata.type': 'x' }, { extraFields: (_p, k) => k.startsWith('@odata.') })).toEqual([]);
  });
});
