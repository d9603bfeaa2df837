/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': '<rootDir>/scripts/jest-esbuild.js' },
  moduleFileExtensions: ['ts', 'js', 'json', 'cjs', 'mjs'],
  // ical.js ships ESM as "main"; its CommonJS build is the "require" export condition.
  moduleNameMapper: { '^ical\\.js$': '<rootDir>/node_modules/ical.js/dist/ical.es5.cjs' },
  testTimeout: 60000,
};
