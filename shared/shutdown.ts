import { PermanentError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { resolvesWithin } from './resolves-within.js';

export interface ShutdownOptions {
  /**
   * The process's own bound: how long the closers together may take before it exits anyway. Each
   * closer's bound is carved out of it, so the closers cannot add up to more.
   * @defaultValue 30000
   */
  timeoutMs?: number;
}

/** A closer's bound when it names none: enough to end a pool or a connection. */
export const DEFAULT_CLOSER_BOUND_MS = 2000;

/** Kept out of every closer's share: the exit itself, after the last closer. */
const EXIT_RESERVE_MS = 1000;

/** Closers whose bounds add up to more than the process's own bound: a wiring bug, found at start-up. */
export class ShutdownBudgetError extends PermanentError {
  override readonly code: string = 'SERVICE_DEFINITION' satisfies ErrorCode;
}


/**
 * Closes a process in the reverse order of its start-up on SIGTERM or SIGINT: first the parts that
 * take work in (HTTP, consumers), then what they used (producers, pools). Each closer has its own
 * bound, taken from the process's bound when it is registered: one that overruns is left behind and
 * the next one runs, so a stuck consumer cannot keep the pool or the relay's last round from
 * closing, and the process exits within its bound. A second signal forces the exit.
 */
export class GracefulShutdown {
  private readonly closers: Array<{ name: string; close: () => Promise<void>; boundMs: number }> = [];
  private allocatedMs = 0;
  private stopping: Promise<boolean> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly options: ShutdownOptions = {},
  ) {}

  get timeoutMs(): number {
    return this.options.timeoutMs ?? 30_000;
  }

  /** True once the stop began: a start-up still in progress ends instead of starting more parts. */
  get stopRequested(): boolean {
    return this.stopping !== undefined;
  }

  /** What is left of the process's bound for closers not registered yet. */
  get unallocatedMs(): number {
    return this.timeoutMs - EXIT_RESERVE_MS - this.allocatedMs;
  }

  /**
   * Registers a closer; closers run last-registered first, each for at most `boundMs`. Throws when
   * the bound does not fit in what is left of the process's bound.
   */
  add(name: string, close: () => Promise<void>, boundMs = DEFAULT_CLOSER_BOUND_MS): void {
    if (!(boundMs > 0) || boundMs > this.unallocatedMs) {
      throw new ShutdownBudgetError(`closer ${name} needs ${boundMs} ms; ${this.unallocatedMs} ms of the ${this.timeoutMs} ms shutdown bound are left`);
    }
    this.allocatedMs += boundMs;
    this.closers.push({ name, close, boundMs });
  }

  listen(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        if (this.stopping) {
          this.logger.warn({ signal }, 'second signal: forcing exit');
          process.exit(130);
        }
        this.logger.info({ signal }, 'shutting down');
        // An exit code set before the signal (a fatal error that asked for the stop) is kept.
        void this.stop().then((clean) => process.exit(clean && !process.exitCode ? 0 : 1));
      });
    }
  }

  /** Runs every closer once; resolves true when all of them finished within their bounds without error. */
  stop(): Promise<boolean> {
    this.stopping ??= (async () => {
      let clean = true;
      for (const { name, close, boundMs } of [...this.closers].reverse()) {
        try {
          if (await resolvesWithin(close(), boundMs)) {
            this.logger.debug({ closer: name }, 'closed');
          } else {
            clean = false;
            this.logger.error({ closer: name, boundMs }, 'closer did not finish within its bound; going on with the next');
          }
        } catch (error) {
          clean = false;
          this.logger.error({ closer: name, err: error }, 'close failed');
        }
      }
      return clean;
    })();
    return this.stopping;
  }
}
