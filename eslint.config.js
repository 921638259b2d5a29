// ESLint (flat config): typescript-eslint's recommended rules WITHOUT type information, so a whole
// run stays a few seconds and `npm run check` under a minute (`npm run lint:es`, cached in
// node_modules/.cache/eslint). Boundaries between folders are dependency-cruiser's job
// (.dependency-cruiser.cjs); formatting is Prettier's (.prettierrc.json, not enforced yet).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'src/cri/generated/', '.vagrant/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    // Baselined, not turned off: no-explicit-any in src/ (49 places, mostly the CLI's printers of
    // untyped API objects and the gRPC plumbing in cri/; issue 11's one kind registry types them).
    // They are listed in eslint-suppressions.json, so a NEW `any` in src/ fails; after removing
    // some, shrink the list with `npx eslint --prune-suppressions`.
    rules: {
      // Turned off or eased, and why:
      // - no-unused-vars: an underscore prefix marks a parameter or binding kept on purpose (port
      //   signatures, destructuring that drops a field); `catch {}` needs no name.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // - no-control-regex: parsers of terminal and wire data match control characters on purpose
      //   (ANSI escapes, NUL-separated fields).
      'no-control-regex': 'off',
      // - no-empty: `catch {}` is the house idiom for best-effort cleanup (a comment says why
      //   nearby); empty blocks elsewhere are still reported.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // - prefer-const: `let x!: T` declared before the closures that use it and assigned later is
      //   the idiom for wiring objects that refer to each other, and `let { a, b } = …` where only
      //   one is reassigned later stays one statement; only plain cases are reported.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true, destructuring: 'all' }],
    },
  },
  {
    // - no-explicit-any in tests and benches: fakes implement part of an interface and are cast
    //   (`as any`) on purpose; 116 places, none of them shipped.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
