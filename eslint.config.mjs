import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-*/**', '.data/**', 'node_modules/**', 'docs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // node:test's describe/it/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read configuration through src/config, not process.env.',
        },
      ],
    },
  },
  {
    // Platforms are plugins: the core never reaches into one; only the registration list names them.
    files: ['src/**/*.ts'],
    ignores: ['src/platforms/*/**', 'src/platforms/platforms.module.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)platforms/(?!http/)[^/]+/',
              message:
                "Import a platform only in src/platforms/platforms.module.ts; the core speaks SigningPlatform's words.",
            },
          ],
        },
      ],
    },
  },
  {
    // A platform reaches the core and the shared HTTP exchange, never another platform.
    files: ['src/platforms/*/**/*.ts'],
    ignores: ['src/platforms/http/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+platforms/(?!http/)[^/]+/|^\\.\\./(?!http/|\\.\\./)[^/.][^/]*/',
              message: 'A platform folder imports only its own files, src/platforms/http and the core.',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain JavaScript (build and test scripts, configs) is not type-checked.
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['src/config/**', 'test/**', 'bench/**', 'scripts/**', 'src/database/migrate.cli.ts', 'demo/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
