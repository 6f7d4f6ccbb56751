/**
 * DLQ operations as a library: find the DLQs of a topology, list and browse their dead letters,
 * replay them to their group's first retry tier, purge handled ones, and read the operation log.
 * Domain-free: the caller passes the topology (to resolveTargets) and a DlqContext. Results are plain
 * data (no console output); `npm run dlq` renders them, an operations dashboard can serve them.
 */
export type { DlqContext } from './context.js';
export { DlqRefusedError, DlqSelectionError } from './errors.js';
export { isEmptyFilter, matches, type Filterable, type MessageFilter } from './filter.js';
export type { InspectedMessage } from './inspect.js';
export { listDlqs, type DlqSummary } from './list.js';
export { dlqOperationsSql, operationsOf, type OperationRow } from './operation-log.js';
export { prefixCut, purge, type PartitionPurge, type PurgeOptions, type PurgePlan, type PurgeResult } from './purge.js';
export type { DlqRecord } from './reader.js';
export { REDACTED, redactBytes, redactText, redactValue } from './redact.js';
export { replayHeaders, replaysOf, type ReplaySource } from './replay-headers.js';
export {
  defaultMaxReplays,
  defaultRatePerSecond,
  replay,
  type ReplayDecision,
  type ReplayItem,
  type ReplayOptions,
  type ReplayPlan,
  type ReplayResult,
} from './replay.js';
export { showMessages, type ShowOptions, type ShowResult } from './show.js';
export { resolveTargets, type DlqTarget, type TargetOptions } from './targets.js';
