import nextVitals from 'eslint-config-next/core-web-vitals';
import nextTs from 'eslint-config-next/typescript';

// lib modules that hold no server code and may be bundled for the browser.
const CLIENT_SAFE_LIB =
  /^@\/lib\/(?!auth\/permissions$|windows$|windows\/days$|historical\/range$|scheduling\/next-delivery$|connections\/server-address$|destinations\/s3-settings$|destinations\/azure-settings$|describe-connection$|runs\/vocabulary$|(.+\/)?schemas$)/;

/** One boundary: files matching `files` may not import `forbidden` (gitignore-style patterns, or one RegExp). */
function boundary(files, forbidden, message, allowTypeImports = false) {
  const globs = forbidden.filter((f) => typeof f === 'string');
  const regexes = forbidden.filter((f) => f instanceof RegExp);
  const patterns = [
    ...(globs.length ? [{ group: globs, message, allowTypeImports }] : []),
    ...regexes.map((r) => ({ regex: r.source, message, allowTypeImports })),
    { group: ['../*'], message: "Import across folders with '@/…'." },
  ];
  return {
    files,
    ignores: ['**/*.test.ts', '**/*.test.tsx'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
    },
  };
}

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
    files: [
      'app/**/*.ts',
      'app/**/*.tsx',
      'pages/**/*.ts',
      'components/**/*.tsx',
      'lib/**/*.ts',
      'jobs/**/*.ts',
      'db/**/*.ts',
      'scripts/**/*.ts',
    ],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // lib/env.ts is the only reader of process.env (docs/conventions.md: configuration).
    files: ['app/**', 'pages/**', 'components/**', 'lib/**', 'jobs/**', 'db/**'],
    ignores: ['lib/env.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through lib/env.ts.' }],
    },
  },
  // Import boundaries (README: Layout): app and pages → components, lib, db; components → client-safe code only
  // (types may come from anywhere); lib → db; jobs → lib, db; db → nothing above it but lib/env.
  // Imports are written '@/…' (tsconfig paths); relative imports that climb out of a folder are refused
  // so the rules below cannot be side-stepped.
  {
    files: ['app/**', 'pages/**', 'components/**', 'lib/**', 'jobs/**', 'db/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*'], message: "Import across folders with '@/…'." }] }],
    },
  },
  boundary(
    ['app/**', 'pages/**'],
    ['@/jobs/*'],
    'app/ and pages/ may import components/, lib/ and db/ (jobs are enqueued through lib/queues).',
  ),
  boundary(
    ['components/**'],
    ['@/app/*', '@/jobs/*', '@/db/*', CLIENT_SAFE_LIB],
    'components/ run in the browser: import only client-safe modules (types are fine).',
    true,
  ),
  boundary(['lib/**'], ['@/app/*', '@/components/*', '@/jobs/*'], 'lib/ may import db/ only (no app/, components/ or jobs/).'),
  boundary(['jobs/**'], ['@/app/*', '@/components/*'], 'jobs/ may import lib/ and db/ only.'),
  boundary(['db/**'], ['@/app/*', '@/components/*', '@/jobs/*', '@/lib/*', '!@/lib/env'], 'db/ may import nothing above it but lib/env.'),
];
export default config;
