import { TransientError, type ErrorCode } from '../errors.js';

/**
 * The worker no longer holds the task: its lease ran out and another worker claimed it, it was
 * cancelled, or it was released. Whatever the worker was about to write is refused (the fencing
 * counter moved on); it stops working the task. Retriable in general, though not by this worker.
 */
export class LeaseLostError extends TransientError {
  override readonly code: string = 'LEASE_LOST' satisfies ErrorCode;

  constructor(
    readonly taskId: string,
    readonly fence: number,
  ) {
    super(`task ${taskId}: lease with fence ${fence} is no longer held`);
  }
}
