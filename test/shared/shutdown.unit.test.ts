import { describe, expect, it } from 'vitest';
import type { Logger } from '../../shared/logger.js';
import { GracefulShutdown } from '../../shared/shutdown.js';

const logger = { debug: () => undefined, error: () => undefined, info: () => undefined, warn: () => undefined } as unknown as Logger;

describe('GracefulShutdown', () => {
  it('leaves a closer behind at its bound and still runs the ones after it, within the process bound', async () => {
    const shutdown = new GracefulShutdown(logger, { timeoutMs: 3000 });
    const closed: string[] = [];
    shutdown.add('database pool', async () => void closed.push('database pool'), 500);
    shutdown.add('consumer', () => new Promise<void>(() => undefined), 500);
    shutdown.add('http server', async () => void closed.push('http server'), 500);
    const started = Date.now();
    const clean = await shutdown.stop();
    const took = Date.now() - started;
    expect(closed).toEqual(['http server', 'database pool']);
    expect(clean).toBe(false);
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(1500);
  });

  it('is clean when every closer finishes within its bound', async () => {
    const shutdown = new GracefulShutdown(logger, { timeoutMs: 3000 });
    shutdown.add('quick', async () => undefined, 500);
    expect(await shutdown.stop()).toBe(true);
  });

  it('refuses a closer whose bound does not fit in what the others left of the process bound', () => {
    const shutdown = new GracefulShutdown(logger, { timeoutMs: 5000 });
    shutdown.add('consumer', async () => undefined, 2000);
    shutdown.add('pool', async () => undefined, 1500);
    // 1000 ms of the 5000 are kept for the exit itself.
    expect(shutdown.unallocatedMs).toBe(500);
    expect(() => shutdown.add('relay', async () => undefined, 2000)).toThrow(expect.objectContaining({ code: 'SERVICE_DEFINITION' }));
    shutdown.add('smtp', async () => undefined, 500);
  });
});
