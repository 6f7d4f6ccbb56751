import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import { dlqTopicName, type ConsumerGroupDeclaration, type TopicDeclaration } from '../../shared/kafka/topology.js';
import { DlqUsageError } from './errors.js';

/** One DLQ: the group it belongs to, the source topic its messages came from, and its name. */
export interface DlqTarget {
  group: ConsumerGroupDeclaration;
  source: TopicDeclaration;
  dlqTopic: string;
}

export interface TargetOptions {
  /** Declared consumer groups by groupId; empty means every declared group. */
  groups?: readonly string[];
  /** An ad-hoc group (tests, experiments): needs `topic`, resolved against the topic declarations. */
  groupId?: string;
  /** A declared source topic name: the ad-hoc group's topic, or narrows declared groups to it. */
  topic?: string;
}

const declaredGroups: readonly ConsumerGroupDeclaration[] = Object.values(consumerGroups);
const declaredTopics: readonly TopicDeclaration[] = Object.values(topics);

function declaredTopic(name: string): TopicDeclaration {
  const topic = declaredTopics.find((candidate) => candidate.name === name);
  if (!topic) {
    throw new DlqUsageError(`unknown topic "${name}"; declared topics: ${declaredTopics.map((t) => t.name).join(', ')}`);
  }
  return topic;
}

/**
 * The DLQs to work on, derived only from the declarations (consumerGroups, topics, dlqTopicName):
 * an operator never types a DLQ topic name.
 */
export function resolveTargets(options: TargetOptions): DlqTarget[] {
  const { groups = [], groupId, topic } = options;
  let selected: ConsumerGroupDeclaration[];
  if (groupId !== undefined) {
    if (groups.length > 0) throw new DlqUsageError('use either --group (declared groups) or --group-id with --topic, not both');
    if (topic === undefined) throw new DlqUsageError('--group-id needs --topic <declared topic name>');
    if (groupId.trim() === '') throw new DlqUsageError('--group-id must not be empty');
    selected = [{ groupId, topics: [declaredTopic(topic)] }];
  } else if (groups.length > 0) {
    selected = groups.map((id) => {
      const group = declaredGroups.find((candidate) => candidate.groupId === id);
      if (!group) {
        throw new DlqUsageError(
          `unknown group "${id}"; declared groups: ${declaredGroups.map((g) => g.groupId).join(', ')} ` +
            '(for an ad-hoc group use --group-id <id> --topic <topic>)',
        );
      }
      return group;
    });
  } else {
    selected = [...declaredGroups];
  }
  const targets = selected.flatMap((group) =>
    group.topics.map((source) => ({ group, source, dlqTopic: dlqTopicName(source, group.groupId) })),
  );
  if (topic === undefined || groupId !== undefined) return targets;
  const source = declaredTopic(topic);
  const narrowed = targets.filter((target) => target.source.name === source.name);
  if (narrowed.length === 0) throw new DlqUsageError(`no selected group consumes "${topic}"`);
  return narrowed;
}

/** Which messages of the selected DLQs a command works on; every set field must match. */
export interface MessageFilter {
  partition?: number;
  /** Inclusive bounds on the DLQ offset. */
  fromOffset?: bigint;
  toOffset?: bigint;
  key?: string;
  errorClass?: string;
}

export interface FilterOptions {
  partition?: string;
  offsets?: string;
  key?: string;
  errorClass?: string;
}

function nonNegativeInteger(text: string, what: string): bigint {
  if (!/^\d+$/.test(text)) throw new DlqUsageError(`${what}: expected a non-negative integer, got "${text}"`);
  return BigInt(text);
}

/** `7`, `3-9`, `10-` or `-42` (inclusive DLQ offsets). */
export function parseOffsetRange(text: string): { fromOffset?: bigint; toOffset?: bigint } {
  const match = /^(\d*)-(\d*)$/.exec(text.trim());
  if (!match) {
    const single = nonNegativeInteger(text.trim(), '--offsets');
    return { fromOffset: single, toOffset: single };
  }
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') throw new DlqUsageError('--offsets: give at least one end, e.g. 10-, -42 or 3-9');
  const range = {
    ...(from !== '' && { fromOffset: BigInt(from) }),
    ...(to !== '' && { toOffset: BigInt(to) }),
  };
  if (range.fromOffset !== undefined && range.toOffset !== undefined && range.fromOffset > range.toOffset) {
    throw new DlqUsageError(`--offsets: the range ${text} is empty (start after end)`);
  }
  return range;
}

export function parseFilter(options: FilterOptions): MessageFilter {
  const filter: MessageFilter = {};
  if (options.partition !== undefined) filter.partition = Number(nonNegativeInteger(options.partition, '--partition'));
  if (options.offsets !== undefined) Object.assign(filter, parseOffsetRange(options.offsets));
  if (options.key !== undefined) filter.key = options.key;
  if (options.errorClass !== undefined) filter.errorClass = options.errorClass;
  return filter;
}

export function isEmptyFilter(filter: MessageFilter): boolean {
  return Object.keys(filter).length === 0;
}

/** The fields a filter looks at, whatever the message type. */
export interface Filterable {
  partition: number;
  offset: string;
  key: string | null;
  errorClass: string | undefined;
}

export function matches(message: Filterable, filter: MessageFilter): boolean {
  const offset = BigInt(message.offset);
  return (
    (filter.partition === undefined || message.partition === filter.partition) &&
    (filter.fromOffset === undefined || offset >= filter.fromOffset) &&
    (filter.toOffset === undefined || offset <= filter.toOffset) &&
    (filter.key === undefined || message.key === filter.key) &&
    (filter.errorClass === undefined || message.errorClass === filter.errorClass)
  );
}

/** The filter as stored in the operation log (JSON has no bigint). */
export function describeFilter(filter: MessageFilter): Record<string, string | number> {
  const described: Record<string, string | number> = {};
  if (filter.partition !== undefined) described.partition = filter.partition;
  if (filter.fromOffset !== undefined || filter.toOffset !== undefined) {
    described.offsets = `${filter.fromOffset ?? ''}-${filter.toOffset ?? ''}`;
  }
  if (filter.key !== undefined) described.key = filter.key;
  if (filter.errorClass !== undefined) described.errorClass = filter.errorClass;
  return described;
}
