import { describe, expect, it } from 'vitest';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import { dlqTopicName } from '../../../shared/kafka/topology.js';
import { parseCommandLine } from '../../../tools/dlq/args.js';
import { DlqRefusedError, DlqUsageError } from '../../../tools/dlq/errors.js';
import { prefixCut } from '../../../tools/dlq/purge.js';
import type { DlqRecord } from '../../../tools/dlq/reader.js';
import { REDACTED, redactBytes, redactText, redactValue } from '../../../tools/dlq/redact.js';
import { matches, parseOffsetRange, resolveTargets } from '../../../tools/dlq/selection.js';

describe('dlq tool: command line', () => {
  it('resolves declared groups to their DLQs through the declarations', () => {
    const targets = resolveTargets({ groups: [consumerGroups.email.groupId] });
    expect(targets.map((t) => t.dlqTopic)).toEqual([dlqTopicName(topics.orderCreated, consumerGroups.email.groupId)]);
    expect(resolveTargets({}).length).toBeGreaterThanOrEqual(Object.keys(consumerGroups).length);
  });

  it('resolves an ad-hoc group against the declared topics', () => {
    const [target] = resolveTargets({ groupId: 'adhoc-1', topic: topics.orderCreated.name });
    expect(target?.source).toBe(topics.orderCreated);
    expect(target?.dlqTopic).toBe(dlqTopicName(topics.orderCreated, 'adhoc-1'));
  });

  it('rejects unknown groups and topics, and an ad-hoc group without its topic', () => {
    expect(() => resolveTargets({ groups: ['no-such-group'] })).toThrow(DlqUsageError);
    expect(() => resolveTargets({ groups: ['no-such-group'] })).toThrow(/declared groups: .*email-service/);
    expect(() => resolveTargets({ groupId: 'adhoc', topic: 'no.such.topic' })).toThrow(/unknown topic/);
    expect(() => resolveTargets({ groupId: 'adhoc' })).toThrow(/--group-id needs --topic/);
  });

  it('parses offset ranges and rejects bad ones', () => {
    expect(parseOffsetRange('3-9')).toEqual({ fromOffset: 3n, toOffset: 9n });
    expect(parseOffsetRange('10-')).toEqual({ fromOffset: 10n });
    expect(parseOffsetRange('-42')).toEqual({ toOffset: 42n });
    expect(parseOffsetRange('7')).toEqual({ fromOffset: 7n, toOffset: 7n });
    for (const bad of ['9-3', 'x', '-', '1-2-3', '-1-']) expect(() => parseOffsetRange(bad), bad).toThrow(DlqUsageError);
    const filter = parseOffsetRange('3-5');
    expect(matches({ partition: 0, offset: '4', key: null, errorClass: undefined }, filter)).toBe(true);
    expect(matches({ partition: 0, offset: '6', key: null, errorClass: undefined }, filter)).toBe(false);
  });

  it('refuses risky or malformed invocations before doing anything', () => {
    expect(() => parseCommandLine(['replay', '--group', 'email-service'])).toThrow(/needs a selection/);
    expect(() => parseCommandLine(['replay', '--all'])).toThrow(/needs --group/);
    expect(() => parseCommandLine(['replay', '--group', 'email-service', '--all', '--reveal'])).toThrow(/--reveal not valid for replay/);
    expect(() => parseCommandLine(['purge', '--group', 'email-service', '--all', '--key', 'k'])).toThrow(/--all cannot be combined/);
    expect(() => parseCommandLine(['frobnicate'])).toThrow(/unknown command/);
    expect(() => parseCommandLine(['list', '--bogus'])).toThrow(DlqUsageError);
    expect(() => parseCommandLine(['replay', '--group', 'g', '--all', '--rate', '0'])).toThrow(/--rate/);
    expect(parseCommandLine([])).toEqual({ command: 'help' });
    expect(parseCommandLine(['replay', '--group', 'email-service', '--key', 'k', '--dry-run'])).toMatchObject({
      command: 'replay',
      dryRun: true,
      maxReplays: 3,
      filter: { key: 'k' },
    });
  });
});

describe('dlq tool: redaction', () => {
  it('redacts email fields at any depth and addresses in free text, bytes included', () => {
    const value = { orderId: 'o-1', email: 'ada@example.com', nested: [{ email: 'bob@example.org', note: 'mail carol@example.net' }] };
    expect(redactValue(value)).toEqual({ orderId: 'o-1', email: REDACTED, nested: [{ email: REDACTED, note: `mail ${REDACTED}` }] });
    expect(redactText('email="ada@example.com" unknown')).toBe(`email="${REDACTED}" unknown`);
    const bytes = redactBytes(Buffer.from('{"email":"ada@example.com"}'));
    expect(bytes.toString()).toBe(`{"email":"${'*'.repeat('ada@example.com'.length)}"}`);
  });
});

describe('dlq tool: purge selections', () => {
  const [target] = resolveTargets({ groupId: 'adhoc', topic: topics.orderCreated.name });
  const records: DlqRecord[] = ['5', '6', '7'].map((offset) => ({
    target: target!,
    partition: 2,
    offset,
    key: `k${offset}`,
    errorClass: 'PermanentError',
    timestamp: 0,
    keyBytes: null,
    value: null,
    rawHeaders: {},
    headers: {},
  }));

  it('cuts a partition after the last message of a selected prefix', () => {
    expect(prefixCut(records, new Set(records.slice(0, 2)))).toEqual({ partition: 2, from: '5', upTo: '7', count: 2 });
    expect(prefixCut(records, new Set())).toBeUndefined();
  });

  it('refuses a selection with an unselected message before a selected one', () => {
    expect(() => prefixCut(records, new Set([records[1]!]))).toThrow(DlqRefusedError);
    expect(() => prefixCut(records, new Set([records[0]!, records[2]!]))).toThrow(/offset 6 is not selected but comes before selected offset 7/);
  });
});
