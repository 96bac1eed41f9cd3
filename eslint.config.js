// `make lint`: typescript-eslint's type-checked recommended rules over src, test and
// scripts, less the rules this codebase deliberately does not follow (each says why).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'deploy/**', 'bench-results/**', 'data/**', 'node_modules/**', '*.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Route handlers and test doubles are async to match the interface they implement.
      '@typescript-eslint/require-await': 'off',
      // Callback properties are declared as methods (`onUnreachable(id): void`) and passed on.
      '@typescript-eslint/unbound-method': 'off',
      // Fields of JSON answers are stringified on purpose when building reports.
      '@typescript-eslint/no-base-to-string': 'off',
      // Koa's app.callback() and async interval callbacks report their own errors.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      // A caught error or an AbortSignal's reason is passed on as it came.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Caught values are rethrown as they came, after narrowing (so no longer `unknown`).
      '@typescript-eslint/only-throw-error': 'off',
      // A `let` declared before the closures that read it, assigned once they exist.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `_`-prefixed names are destructured only to leave them out.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Product code and tools never depend on test code (test fixtures stay in test/).
    files: ['src/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)test/', message: 'src/ and scripts/ must not import from test/' }] }],
    },
  },
  {
    // Tests read JSON answers as untyped values and assert on their fields.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
);
