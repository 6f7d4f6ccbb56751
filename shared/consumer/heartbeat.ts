import type { BatchControl } from '../kafka/port.js';

/**
 * Heartbeats while one batch is handled, so a slow handler does not cost the group membership. A
 * failed heartbeat (the group is rebalancing) is kept: the per-event path ends the batch at the next
 * message, as kafkajs would.
 */
export class BatchHeartbeat {
  failure: unknown;
  private readonly timer: NodeJS.Timeout;

  constructor(control: Pick<BatchControl, 'heartbeat'>, intervalMs = 1000) {
    this.timer = setInterval(() => {
      control.heartbeat().catch((error: unknown) => (this.failure ??= error));
    }, intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
