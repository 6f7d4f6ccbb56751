import { positiveInt, variable } from '../config.js';

/** How a scheduler process dispatches (see DispatcherOptions). */
export const schedulerVariables = {
  schedulerBatchSize: variable('SCHEDULER_BATCH_SIZE', positiveInt.default(500)),
  schedulerMaxSleepMs: variable('SCHEDULER_MAX_SLEEP_MS', positiveInt.default(1000)),
  schedulerMaxPerSecond: variable('SCHEDULER_MAX_PER_SECOND', positiveInt.default(5000)),
};
