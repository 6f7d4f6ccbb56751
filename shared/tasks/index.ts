/** Long-running tasks: leases with fencing, per-chunk checkpoints, progress, cancel (see worker-pool.ts). */
export { LeaseLostError } from './errors.js';
export { progressOf, smoothedRate, type Progress } from './progress.js';
export {
  TASK_CHANGES_CHANNEL,
  TaskStore,
  finishedStates,
  taskStates,
  tasksSql,
  viewOf,
  type CancelOutcome,
  type ChunkResult,
  type ChunkWork,
  type Lease,
  type OnSettled,
  type RetryOutcome,
  type Task,
  type TaskState,
  type TaskView,
} from './store.js';
export { TaskChanges, parseTaskChange, type ChangeListener, type TaskChange } from './task-changes.js';
export { TaskWorkerPool, type ChunkTarget, type PreparedChunk, type TaskHandler, type TaskWorkerPoolOptions } from './worker-pool.js';
export { copyChunks, type CopiedChunk, type CopyChunksOptions } from './copy-chunks.js';
export { taskVariables } from './variables.js';
