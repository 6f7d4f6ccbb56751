import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const kafkajsOnlyInShared = {
  name: 'kafkajs',
  message: 'Reach Kafka through shared/kafka so a later client swap stays in one place.',
};

// The platform (shared/ less its contracts) is domain-free: it receives topics, groups and schemas,
// it never imports them, nor a service, a tool, the bench or the local stack.
const platformBoundary = {
  group: ['**/contracts/**', '**/services/**', '**/tools/**', '**/stack/**', '**/bench/**', '**/scripts/**', '**/test/**'],
  message: 'shared/ is the domain-free platform: take what you need as a parameter (see shared/kafka/topology.ts).',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.stack/', '.stack-test/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [kafkajsOnlyInShared] }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/contracts/**', 'shared/kafka/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [kafkajsOnlyInShared], patterns: [platformBoundary] }] },
  },
  {
    // The one place that may import the Kafka client library.
    files: ['shared/kafka/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [platformBoundary] }] },
  },
  {
    // The dashboard's page script runs in the browser, as it is (no build step).
    files: ['services/dashboard/public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'EventSource', 'URLSearchParams', 'FormData', 'Node', 'CSS', 'setInterval'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // Its tests, which check the adapter against the library's own errors and behaviour.
    files: ['test/shared/kafka/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
