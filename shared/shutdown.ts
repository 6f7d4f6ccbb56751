import type { Logger } from './logger.js';

export interface ShutdownOptions {
  /**
   * How long the closers together may take before the process exits anyway.
   * @defaultValue 30000
   */
  timeoutMs?: number;
}

/**
 * Closes a process in the reverse order of its start-up on SIGTERM or SIGINT: first the parts that
 * take work in (HTTP, consumers), then what they used (producers, pools). A second signal, or the
 * time-out, forces the exit.
 */
export class GracefulShutdown {
  private readonly closers: Array<{ name: string; close: () => Promise<void> }> = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly options: ShutdownOptions = {},
  ) {}

  /** Registers a closer; closers run last-registered first. */
  add(name: string, close: () => Promise<void>): void {
    this.closers.push({ name, close });
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

  /** Runs every closer once; resolves true when all of them finished in time without error. */
  stop(): Promise<boolean> {
    let clean = true;
    this.stopping ??= (async () => {
      for (const { name, close } of [...this.closers].reverse()) {
        try {
          await close();
          this.logger.debug({ closer: name }, 'closed');
        } catch (error) {
          clean = false;
          this.logger.error({ closer: name, err: error }, 'close failed');
        }
      }
    })();
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        this.logger.error({ timeoutMs }, 'shutdown timed out');
        resolve(false);
      }, timeoutMs);
      timer.unref();
    });
    return Promise.race([this.stopping.then(() => clean), timeout]).finally(() => clearTimeout(timer));
  }
}
