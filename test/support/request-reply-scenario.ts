import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceFleet, RunningService } from './services.js';
import { apiFetch } from './api-client.js';

/** The scaled run of request-reply: order API instances × inventory members, one member SIGKILLed and one API instance started mid-run. */
export interface ScaleScenario {
  orders: number;
  inventories: number;
  requests: number;
  concurrency: number;
  /** Printed as the run goes (the command's progress); silent in a test. */
  log?: (line: string) => void;
}

export interface ScaleResult {
  requests: number;
  answeredInline: number;
  /** Answered 202 first, then served at /requests/:id. */
  answeredLate: number;
  /** 503s asked again after Retry-After (overload or a reply consumer not yet assigned). */
  retried: number;
  unanswered: number;
  /** A reply that is not the request's own (another request's SKU or quantity). */
  misdelivered: number;
  /** Answered inline and also stored as a late reply, or answered late twice. */
  answeredTwice: number;
  /** request_reply_in_flight of every API instance at the end. */
  inFlightAtEnd: number[];
  elapsedMs: number;
  latencyMs: { p50: number; p99: number; max: number };
}

interface AvailabilityAnswer {
  items?: Array<{ sku: string; requested: number; available: number; ok: boolean }>;
}

/** Each request asks a (SKU, quantity) pair no other request asks: its reply names it. */
function askedBy(i: number): { sku: string; quantity: number } {
  return { sku: `SKU-${String((i % 30) + 1).padStart(3, '0')}`, quantity: Math.floor(i / 30) + 1 };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

async function metric(service: RunningService, name: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/**
 * Runs the scenario on a fleet of this caller's: starts the services (inventory members with a 6 s
 * session, so the killed member's partitions move soon), sends the requests round-robin over the
 * running API instances, SIGKILLs an inventory member at 30 % and starts an API instance at 50 %,
 * then follows every 202 to its answer at /requests/:id (asked of another instance).
 */
export async function runScaleScenario(fleet: ServiceFleet, scenario: ScaleScenario): Promise<ScaleResult> {
  const log = scenario.log ?? (() => undefined);
  const inventoryEnv = { KAFKA_SESSION_TIMEOUT_MS: '6000' };
  const inventories = await Promise.all(Array.from({ length: scenario.inventories }, () => fleet.start('inventory', inventoryEnv)));
  const orders = await Promise.all(Array.from({ length: scenario.orders - 1 }, () => fleet.start('order')));
  log(`started ${inventories.length} inventory members and ${orders.length} order API instances`);

  const answers = new Map<number, { how: 'inline' | 'late'; correlationId: string; body: AvailabilityAnswer }>();
  const pending: Array<{ i: number; location: string }> = [];
  const latencies: number[] = [];
  let retried = 0;
  let next = 0;
  let done = 0;
  const startedAt = Date.now();
  const midRun: Array<Promise<unknown>> = [];

  const one = async (i: number): Promise<void> => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const api = orders[(i + attempt) % orders.length]!;
      const t0 = performance.now();
      const response = await apiFetch(`${api.url}/availability`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ items: [askedBy(i)] }),
      }).catch(() => undefined);
      if (!response || response.status === 503) {
        retried++;
        await sleep(Number(response?.headers.get('retry-after') ?? 1) * 1000);
        continue;
      }
      const body = (await response.json()) as AvailabilityAnswer & { correlationId?: string };
      if (response.status === 200) {
        latencies.push(performance.now() - t0);
        answers.set(i, { how: 'inline', correlationId: response.headers.get('x-correlation-id') ?? '', body });
      } else if (response.status === 202) {
        pending.push({ i, location: response.headers.get('location') ?? '' });
      }
      // Any other status: no answer (counted below as a request without one).
      return;
    }
  };

  await Promise.all(
    Array.from({ length: scenario.concurrency }, async () => {
      while (next < scenario.requests) {
        const i = next++;
        if (i === Math.floor(scenario.requests * 0.3)) {
          log(`request ${i}: SIGKILL ${inventories[0]!.instance}`);
          midRun.push(fleet.kill(inventories[0]!));
        }
        if (i === Math.floor(scenario.requests * 0.5)) {
          log(`request ${i}: starting another order API instance`);
          midRun.push(fleet.start('order').then((added) => orders.push(added)));
        }
        await one(i);
        if (++done % 1000 === 0) log(`${done} requests done`);
      }
    }),
  );
  await Promise.all(midRun);
  log(`all sent in ${Date.now() - startedAt} ms; ${pending.length} answered 202, following them`);

  // Each 202 is followed at another instance than the one that answered it: the result is in PostgreSQL.
  for (const [n, { i, location }] of pending.entries()) {
    const api = orders[(n + 1) % orders.length]!;
    let final: { status: number; body: AvailabilityAnswer } | undefined;
    for (let polls = 0; polls < 600 && !final; polls++) {
      const response = await apiFetch(`${api.url}${location}`);
      if (response.status === 202) {
        await sleep(100);
        continue;
      }
      final = { status: response.status, body: (await response.json()) as AvailabilityAnswer };
    }
    if (final?.status === 200) answers.set(i, { how: 'late', correlationId: location.split('/').pop()!, body: final.body });
  }

  let misdelivered = 0;
  let answeredTwice = 0;
  for (const [i, { how, correlationId, body }] of answers) {
    const asked = askedBy(i);
    const item = body.items?.[0];
    if (body.items?.length !== 1 || item?.sku !== asked.sku || item.requested !== asked.quantity) misdelivered++;
    // An inline answer leaves nothing in the result store; a stored one is there once (its key).
    if (how === 'inline') {
      const stored = await apiFetch(`${orders[0]!.url}/requests/${correlationId}`);
      if (stored.status !== 404) answeredTwice++;
    }
  }
  const inFlightAtEnd = await Promise.all(orders.map((api) => metric(api, 'request_reply_in_flight')));
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: scenario.requests,
    answeredInline: [...answers.values()].filter((a) => a.how === 'inline').length,
    answeredLate: [...answers.values()].filter((a) => a.how === 'late').length,
    retried,
    // Refused, or followed to no answer: whatever has no answer.
    unanswered: scenario.requests - answers.size,
    misdelivered,
    answeredTwice,
    inFlightAtEnd,
    elapsedMs: Date.now() - startedAt,
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
  };
}
