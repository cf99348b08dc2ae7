// One jest run covers every stage and the root tooling. Test files are
// TypeScript; swc strips the types and turns them into CommonJS for jest.
/** @type {import('jest').Config} */
export default {
  testMatch: [
    '<rootDir>/stages/*/test/**/*.test.ts',
    '<rootDir>/tools/**/*.test.ts',
    '<rootDir>/docs/**/*.test.ts',
  ],
  // jose (stage 06's tokens) ships ES modules only: swc turns them into CommonJS too.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  transform: {
    '^.+/node_modules/jose/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }],
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'commonjs' } },
    ],
  },
  globalSetup: '<rootDir>/testing/global-setup.ts',
  globalTeardown: '<rootDir>/testing/global-teardown.ts',
  testEnvironment: 'node',
  testTimeout: 30_000,
  // Two cores: two test files at a time keeps every stage's servers responsive.
  maxWorkers: 2,
};
