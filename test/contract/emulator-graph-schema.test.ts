/**
 * The generated Graph Event schema stays in step with @microsoft/microsoft-graph-types, like the
 * Google one (emulator-google-schema.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import graphSchema from '../../emulator/graph/schema/graph-event.json';

const root = join(__dirname, '..', '..');

test('regenerating the schema from @microsoft/microsoft-graph-types yields the committed file', () => {
  // --check exits non-zero (execFileSync throws) when the output differs from the committed JSON.
  expect(() => execFileSync(process.execPath, [join(root, 'emulator/graph/schema/generate.mjs'), '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
});

test('the schema describes Event with the fields the provider writes', () => {
  const types = (graphSchema as unknown as { types: Record<string, { t: string; props?: Record<string, unknown> }> }).types;
  const ev = types['Event'];
  expect(ev.t).toBe('object');
  for (const f of ['subject', 'start', 'end', 'recurrence', 'singleValueExtendedProperties', 'transactionId', 'location', 'body']) expect(ev.props?.[f]).toBeDefined();
});
