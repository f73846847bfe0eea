import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTs from 'eslint-config-next/typescript';

const config = [
  ...nextVitals,
  ...nextTs,
  {
    ignores: [
      'node_modules/**',
      '.next/**',
      '.data/**',
      'db/migrations/**',
      'test-results/**',
      'playwright-report/**',
      'next-env.d.ts',
      'bench/out/**',
    ],
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Typed rules for async code: a promise returned inside try/catch/finally must be awaited (or
    // the finally runs before it settles), and no promise is left floating.
    files: ['app/**/*.ts', 'app/**/*.tsx', 'components/**/*.tsx', 'lib/**/*.ts', 'jobs/**/*.ts', 'db/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // lib/env.ts is the only reader of process.env (CONVENTIONS: typed configuration).
    files: ['app/**', 'components/**', 'lib/**', 'jobs/**', 'db/**'],
    ignores: ['lib/env.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through lib/env.ts.' }],
    },
  },
];
export default config;
