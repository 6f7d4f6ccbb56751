import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { databaseVariables, kafkaVariables, loadConfig, mayEcho, variable } from '../../shared/config.js';

function problemOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('configuration errors and credentials', () => {
  it('a secret variable is named, its value never shown', () => {
    const message = problemOf(() => loadConfig(databaseVariables, { DATABASE_URL: 'postgres://app:s3cr#t@db/x' }));
    expect(message).toContain('DATABASE_URL: expected a postgres:// URL (value not shown: it may hold a credential)');
    expect(message).not.toContain('s3cr');
  });

  it('a URL-shaped or @-holding value is not shown even for a variable not marked secret', () => {
    const spec = { endpoint: variable('ENDPOINT', z.string().regex(/^x$/, 'expected x')) };
    expect(problemOf(() => loadConfig(spec, { ENDPOINT: 'https://u:p@h' }))).not.toContain('u:p');
    expect(problemOf(() => loadConfig(spec, { ENDPOINT: 'user:pw@host' }))).not.toContain('pw');
    expect(mayEcho({}, 'localhost')).toBe(true);
    expect(mayEcho({ secret: true }, 'localhost')).toBe(false);
  });

  it('other values are still quoted, so a typo is easy to see', () => {
    expect(problemOf(() => loadConfig(kafkaVariables, { KAFKA_BROKERS: 'localhost' }))).toContain('(got "localhost")');
  });

  it('every variable that carries a URL or a SASL credential is marked secret', () => {
    expect(databaseVariables.databaseUrl.secret).toBe(true);
    expect(kafkaVariables.kafkaSaslPassword.secret).toBe(true);
    expect(kafkaVariables.kafkaSaslUsername.secret).toBe(true);
  });
});
