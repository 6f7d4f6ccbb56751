import { describe, expect, it } from 'vitest';
import { describeFallback, fallBackToLocalStack, localStackAddresses, withLocalStackAddresses } from '../../shared/local-stack-addresses.js';
import { defaults, stackEnv } from '../../stack/layout.js';

describe('local stack addresses', () => {
  it('fill in unset and empty addresses, and leave given ones and other variables alone', () => {
    const filled = withLocalStackAddresses({ KAFKA_BROKERS: 'kafka:9092', DATABASE_URL: '', LOG_LEVEL: 'warn' });
    expect(filled).toEqual({ ...localStackAddresses, KAFKA_BROKERS: 'kafka:9092', LOG_LEVEL: 'warn' });
  });

  it('are the ones the local stack serves on', () => {
    expect(defaults).toEqual(localStackAddresses);
    expect(stackEnv({})).toEqual(withLocalStackAddresses({}));
  });

  it('a command falls back only for the variables it names, and says which, without user info', () => {
    const { environment, filled } = fallBackToLocalStack(['KAFKA_BROKERS', 'DATABASE_URL'], { KAFKA_BROKERS: 'kafka:9092', DATABASE_URL: '' });
    expect(filled).toEqual(['DATABASE_URL']);
    expect(environment).toEqual({ KAFKA_BROKERS: 'kafka:9092', DATABASE_URL: localStackAddresses.DATABASE_URL });
    const notice = describeFallback('dlq', filled)!;
    expect(notice).toContain('DATABASE_URL=postgres://127.0.0.1:5432/order_pipeline');
    expect(notice).not.toContain('postgres:postgres@');
    expect(describeFallback('dlq', [])).toBeUndefined();
  });
});
