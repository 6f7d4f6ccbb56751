import { positiveInt, variable } from '../config.js';

/** How a process's task workers hold and work tasks (see TaskWorkerPoolOptions). */
export const taskVariables = {
  taskLeaseMs: variable('TASK_LEASE_MS', positiveInt.default(30_000)),
  taskHeartbeatMs: variable('TASK_HEARTBEAT_MS', positiveInt.default(5000)),
  taskChunkRows: variable('TASK_CHUNK_ROWS', positiveInt.default(10_000)),
  taskConcurrency: variable('TASK_CONCURRENCY', positiveInt.default(2)),
  taskPollMs: variable('TASK_POLL_MS', positiveInt.default(1000)),
  taskMaxAttempts: variable('TASK_MAX_ATTEMPTS', positiveInt.default(5)),
  taskRetryInitialMs: variable('TASK_RETRY_INITIAL_MS', positiveInt.default(1000)),
  // How long one read statement streams: it holds a snapshot and its tables' share locks meanwhile.
  taskReadWindowMs: variable('TASK_READ_WINDOW_MS', positiveInt.default(300_000)),
};
