// Lint: @n8n/node-cli's community-node config, plus our own layering rules.
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

const ioModules = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'http', 'node:http', 'https', 'node:https',
  'net', 'node:net', 'child_process', 'node:child_process', 'n8n-workflow'];

export default [
  ...configWithoutCloudSupport,
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'scripts/**', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  {
    // core/ is pure: no I/O, no n8n, no clock (enforced by review; Date.now is not lintable cheaply).
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioModules.map((name) => ({ name, message: 'core/ is pure: no I/O or n8n imports (see ARCHITECTURE.md)' })),
        patterns: [{ group: ['../providers/*', '../nodes/*', '../bridge/*', '../emulator/*', '../../providers/*', '../../nodes/*', '../../bridge/*', '../../emulator/*'], message: 'imports point one way: nodes/bridge → providers → core' }] }],
    },
  },
  {
    // providers/ may not reach up into nodes/ or bridge/.
    files: ['providers/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../nodes/*', '../bridge/*', '../../nodes/*', '../../bridge/*'], message: 'imports point one way: nodes/bridge → providers → core' }] }],
    },
  },
  {
    // Command-line faces, tests, benchmarks and the emulator talk to a terminal.
    files: ['cli.ts', 'cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'emulator/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // The package is bundled with esbuild into dist/ with no runtime dependencies, so the
    // community-node rule against importing third-party packages is moot for bundled code
    // (documented exception, see docs/development.md). NodeApiError/NodeOperationError belong to
    // n8n node code: core/ and providers/ throw typed domain errors that nodes/shared's
    // toNodeError() maps (ARCHITECTURE.md style rule 6), so that rule applies to nodes/ only.
    files: ['**/*.ts'],
    ignores: ['nodes/**'],
    rules: {
      '@n8n/community-nodes/no-restricted-imports': 'off',
      '@n8n/community-nodes/require-node-api-error': 'off',
      // `_name` marks a deliberately unused binding (rest-destructuring to drop a key, etc.).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Benchmarks and tests spawn processes on purpose (fresh-process RSS, schema regeneration);
    // none of that code ships in a node.
    files: ['bench/**/*.ts', 'test/**/*.ts'],
    rules: { '@n8n/community-nodes/no-dangerous-functions': 'off' },
  },
  {
    // The same `_name` convention in node code (the block above leaves nodes/ to the n8n rules).
    files: ['nodes/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }] },
  },
  {
    // Room Sync writes and deletes across whole room calendars from a complete input set: it is
    // deliberately not offered to AI agents as a tool (n8n's type allows only `true` there).
    files: ['nodes/RoomSync/RoomSync.node.ts'],
    rules: { '@n8n/community-nodes/node-usable-as-tool': 'off' },
  },
];
