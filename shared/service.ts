import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { GracefulShutdown, type ShutdownOptions } from './shutdown.js';

export interface ServiceContext {
  logger: Logger;
  shutdown: GracefulShutdown;
}

function reportFailure(name: string, logger: Logger, error: unknown): void {
  if (error instanceof ConfigError) {
    // Plain stderr as well as the log line: a person starting the process reads this.
    process.stderr.write(`${name}: ${error.message}\n`);
    logger.fatal({ problems: error.problems }, 'invalid configuration');
  } else {
    logger.fatal({ err: error }, 'failed');
  }
}

/**
 * The entry point every long-running process shares: a logger, a graceful shutdown on signals, and
 * a start-up failure that exits non-zero with a readable reason (a configuration error names each
 * variable at fault).
 */
export async function runService(
  name: string,
  start: (context: ServiceContext) => Promise<void>,
  options: ShutdownOptions = {},
): Promise<void> {
  const logger = createLogger(name);
  const shutdown = new GracefulShutdown(logger, options);
  shutdown.listen();
  try {
    await start({ logger, shutdown });
    // A signal during the start-up ended it early: the process is stopping, not started.
    if (!shutdown.stopRequested) logger.info('started');
  } catch (error) {
    reportFailure(name, logger, error);
    await shutdown.stop();
    process.exit(1);
  }
}

/** The entry point of one-shot commands (provisioning, tooling): exit 0 on success, 1 on failure. */
export async function runTask(name: string, work: (logger: Logger) => Promise<void>): Promise<void> {
  const logger = createLogger(name);
  try {
    await work(logger);
  } catch (error) {
    reportFailure(name, logger, error);
    process.exitCode = 1;
  }
}
