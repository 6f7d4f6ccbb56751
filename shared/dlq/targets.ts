import { dlqTopicName, type ConsumerGroupDeclaration, type TopicDeclaration, type Topology } from '../kafka/topology.js';
import { DlqSelectionError } from './errors.js';

/** One DLQ: the group it belongs to, the source topic its messages came from, and its name. */
export interface DlqTarget {
  group: ConsumerGroupDeclaration;
  source: TopicDeclaration;
  dlqTopic: string;
}

export interface TargetOptions {
  /**
   * Declared consumer groups by groupId; empty means every declared group.
   * @defaultValue []
   */
  groups?: readonly string[];
  /** An ad-hoc group (tests, experiments): needs `topic`, resolved against the topic declarations. */
  groupId?: string;
  /** A declared source topic name: the ad-hoc group's topic, or narrows declared groups to it. */
  topic?: string;
}

function declaredTopic(topology: Topology, name: string): TopicDeclaration {
  const declared = Object.values(topology.topics);
  const topic = declared.find((candidate) => candidate.name === name);
  if (!topic) throw new DlqSelectionError(`unknown topic "${name}"; declared topics: ${declared.map((t) => t.name).join(', ')}`);
  return topic;
}

/**
 * The DLQs to work on, derived only from the topology's declarations and dlqTopicName: an operator
 * never types a DLQ topic name.
 */
export function resolveTargets(topology: Topology, options: TargetOptions = {}): DlqTarget[] {
  const { groups = [], groupId, topic } = options;
  const declaredGroups = Object.values(topology.groups);
  let selected: ConsumerGroupDeclaration[];
  if (groupId !== undefined) {
    if (groups.length > 0) throw new DlqSelectionError('give either declared groups or an ad-hoc groupId, not both');
    if (topic === undefined) throw new DlqSelectionError(`the ad-hoc group "${groupId}" needs a topic (a declared topic name)`);
    if (groupId.trim() === '') throw new DlqSelectionError('the ad-hoc groupId must not be empty');
    selected = [{ groupId, topics: [declaredTopic(topology, topic)] }];
  } else if (groups.length > 0) {
    selected = groups.map((id) => {
      const group = declaredGroups.find((candidate) => candidate.groupId === id);
      if (!group) {
        throw new DlqSelectionError(
          `unknown group "${id}"; declared groups: ${declaredGroups.map((g) => g.groupId).join(', ')} ` +
            '(an ad-hoc group is given by its group id and topic)',
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
  const source = declaredTopic(topology, topic);
  const narrowed = targets.filter((target) => target.source.name === source.name);
  if (narrowed.length === 0) throw new DlqSelectionError(`no selected group consumes "${topic}"`);
  return narrowed;
}
