import type { FastifyInstance } from 'fastify';

/** One kind of frame: its name, its current value, and how to hear of the next one. */
export interface LiveSource {
  event: string;
  current: () => unknown;
  subscribe: (listener: (value: unknown) => void) => void;
}

/**
 * Server-sent events: each poll's snapshot, serialised once and written to every open page. A page
 * costs a socket and a string write per poll, never a call to the broker.
 */
const maxBufferedBytes = 1024 * 1024;

export function registerLiveFeed(app: FastifyInstance, sources: readonly LiveSource[]): { viewers: () => number } {
  const viewers = new Set<(frame: string) => void>();
  let id = 0;
  for (const source of sources) {
    source.subscribe((value) => {
      const frame = `id: ${++id}\nevent: ${source.event}\ndata: ${JSON.stringify(value)}\n\n`;
      for (const write of viewers) write(frame);
    });
  }
  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // A proxy must not hold the frames back.
      'x-accel-buffering': 'no',
    });
    // A page that stops reading (a stalled tab, a dead connection not yet noticed) misses frames
    // instead of growing this process's memory: each frame is the whole state, so the next one heals it.
    const write = (frame: string) => {
      if (raw.writableLength < maxBufferedBytes) raw.write(frame);
    };
    // The current state at once: a page does not wait a poll for its first numbers.
    write('retry: 2000\n\n');
    for (const source of sources) write(`event: ${source.event}\ndata: ${JSON.stringify(source.current())}\n\n`);
    viewers.add(write);
    // A comment every 15 s keeps idle proxies from closing the stream.
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    request.raw.on('close', () => {
      clearInterval(keepAlive);
      viewers.delete(write);
    });
  });
  return { viewers: () => viewers.size };
}
