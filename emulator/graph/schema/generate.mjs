#!/usr/bin/env node
/**
 * Generates emulator/graph/schema/graph-event.json (the Graph `Event` type and everything it
 * references) from @microsoft/microsoft-graph-types, reusing the shared generator in
 * scripts/gen-emulator-schemas.mjs.
 *
 *   node emulator/graph/schema/generate.mjs          # write
 *   node emulator/graph/schema/generate.mjs --check  # exit 1 when the committed file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../../../scripts/gen-emulator-schemas.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'graph-event.json');
const text = generate({ dts: '@microsoft/microsoft-graph-types/microsoft-graph.d.ts', rootTypes: ['Event'], out });
if (process.argv.includes('--check')) {
  let old = '';
  try { old = readFileSync(out, 'utf8'); } catch { /* missing counts as stale */ }
  if (old !== text) {
    console.error('emulator/graph/schema/graph-event.json is stale: run node emulator/graph/schema/generate.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log(`wrote emulator/graph/schema/graph-event.json (${Object.keys(JSON.parse(text).types).length} types)`);
}
