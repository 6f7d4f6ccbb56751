/** The platform scheduler: durable jobs in PostgreSQL, dispatched through the outbox when due (see dispatcher.ts). */
export { Dispatcher, type DispatcherOptions } from './dispatcher.js';
export {
  SCHEDULER_CHANNEL,
  ScheduledJobs,
  jobStates,
  schedulerSql,
  type Backlog,
  type CancelOutcome,
  type DueTime,
  type JobState,
  type JobSummary,
  type JobView,
  type Queryable,
  type RescheduleOutcome,
  type ScheduleOutcome,
  type ScheduleRequest,
  type ScheduledMessage,
} from './jobs.js';
export { schedulerVariables } from './variables.js';
