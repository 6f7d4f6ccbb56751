import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../stack/layout.js';
import { startProcess } from '../support/processes.js';
import { databaseVariables, kafkaVariables, loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';

describe('configuration', () => {
  it('parses valid values into typed config', () => {
    const config = loadConfig(
      { ...kafkaVariables, ...databaseVariables },
      { KAFKA_BROKERS: 'a:9092, b:9093', DATABASE_URL: 'postgres://u@h:5432/db', TOPIC_REPLICATION_FACTOR: '3' },
    );
    expect(config.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
    expect(config.topicReplicationFactor).toBe(3);
    expect(config.kafkaSsl).toBe(false);
  });

  it('reports every missing or malformed variable by name', () => {
    let error: unknown;
    try {
      loadConfig({ ...kafkaVariables, ...databaseVariables }, { KAFKA_BROKERS: 'no-port', KAFKA_SSL: 'yes' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['DATABASE_URL', 'KAFKA_BROKERS', 'KAFKA_SSL']);
  });

  it('a bad value stops a real process at start-up with a message naming the variable', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/provision.ts'], {
      env: { ...process.env, KAFKA_BROKERS: 'localhost', LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/KAFKA_BROKERS: expected a comma-separated list of host:port \(got "localhost"\)/);
  });

  it('a bad secret-bearing value is named but never shown: a password with an unencoded # stays out of the output', async () => {
    // The `#` ends the URL early, so nothing can pick the password out of what is left: the value
    // must not be echoed at all.
    const service = startProcess(path.join(repoRoot, 'services', 'email', 'main.ts'), {
      DATABASE_URL: 'postgres://app:s3cr#t@db/x',
      LOG_LEVEL: 'debug',
    });
    const exit = await service.exited;
    const output = service.output.join('\n');
    expect(exit.code).toBe(1);
    expect(output).toMatch(/DATABASE_URL: expected a postgres:\/\/ URL/);
    expect(output).not.toContain('s3cr');
    expect(output).not.toContain('@db/x');
  });
});
