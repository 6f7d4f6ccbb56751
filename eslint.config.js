import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.stack/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kafkajs',
              message: 'Reach Kafka through shared/kafka so a later client swap stays in one place.',
            },
          ],
        },
      ],
    },
  },
  {
    // The one place that may import the Kafka client library.
    files: ['shared/kafka/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
