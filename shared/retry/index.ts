export { Backoff, backoffDelay, type BackoffOptions } from './backoff.js';
export { PollTimeoutError, pollUntil, type PollOptions } from './poll-until.js';
export { retrying, type RetryingOptions, type RetryWait } from './retrying.js';
