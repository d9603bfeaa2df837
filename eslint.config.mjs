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
    // (documented exception, see docs/development.md).
    files: ['**/*.ts'],
    rules: {
      '@n8n/community-nodes/no-restricted-imports': 'off',
    },
  },
];
