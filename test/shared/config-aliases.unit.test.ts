import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { configSpec as orderSpec } from '../../services/order/config.js';
import { configSpec as inventorySpec } from '../../services/inventory/config.js';

const base = { KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081', DATABASE_URL: 'postgres://u@h/db' };

describe('service configuration bundles', () => {
  it('the order API listens on HTTP_PORT, default 3000, and still reads PORT', () => {
    expect(loadConfig(orderSpec, base).httpPort).toBe(3000);
    expect(loadConfig(orderSpec, { ...base, HTTP_PORT: '3100' }).httpPort).toBe(3100);
    expect(loadConfig(orderSpec, { ...base, PORT: '3200' }).httpPort).toBe(3200);
    expect(loadConfig(orderSpec, { ...base, HTTP_PORT: '3100', PORT: '3200' }).httpPort).toBe(3100);
  });

  it('a bad alias value is reported under the name that was set', () => {
    expect(() => loadConfig(orderSpec, { ...base, PORT: 'x' })).toThrow(/PORT: expected a port number/);
  });

  it('a consumer with an outbox reads the consumer, database and outbox variables with their defaults', () => {
    const config = loadConfig(inventorySpec, base);
    expect(config).toMatchObject({ httpPort: 0, partitionsConcurrently: 3, sessionTimeoutMs: 30_000, outboxPollMs: 1000 });
  });
});
