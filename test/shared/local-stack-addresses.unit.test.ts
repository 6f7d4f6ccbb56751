import { describe, expect, it } from 'vitest';
import { localStackAddresses, withLocalStackAddresses } from '../../shared/local-stack-addresses.js';
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
});
