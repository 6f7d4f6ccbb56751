import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaVariables, loadConfig } from '../../../shared/config.js';
import { createKafka, kafkaClient } from '../../../shared/kafka/client.js';
import { createLogger } from '../../../shared/logger.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

describe('the kafkajs adapter', () => {
  const client = kafkaClient(createKafka(loadConfig(kafkaVariables, { KAFKA_BROKERS: '127.0.0.1:1' }), createLogger('test'), 'test'));

  it("tells the client's own errors (which its consumer restarts on) from everyone else's", () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { code: 'ECONNREFUSED' });
    expect(client.isClientError(refused)).toBe(true);
    expect(client.isClientError(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 }))).toBe(true);
    const pgRefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(client.isClientError(pgRefused)).toBe(false);
    expect(client.isClientError('KafkaJS')).toBe(false);
  });
});
