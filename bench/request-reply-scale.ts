/**
 * `npm run chaos:request-reply`: the full scaled run of request-reply: 3 order API
 * instances (the third started mid-run) × 3 inventory members (one SIGKILLed mid-run), 10,000
 * POST /availability. Every request must end answered once with its own reply, inline or at
 * /requests/:id; the in-flight gauges must end at 0. The test suite runs the same scenario smaller
 * (test/services/order/availability-scale.test.ts).
 *   RR_REQUESTS (default 10000), RR_CONCURRENCY (default 50), RR_ORDERS (3), RR_INVENTORIES (3)
 */
import { runScaleScenario } from '../test/support/request-reply-scenario.js';
import { ServiceFleet } from '../test/support/services.js';
import { printTable, provisionedStack, stopFleetOnSignal, writeResults } from './support.js';

const scenario = {
  requests: Number(process.env.RR_REQUESTS ?? 10_000),
  concurrency: Number(process.env.RR_CONCURRENCY ?? 50),
  orders: Number(process.env.RR_ORDERS ?? 3),
  inventories: Number(process.env.RR_INVENTORIES ?? 3),
};

await provisionedStack();
process.env.LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
const fleet = new ServiceFleet();
stopFleetOnSignal(fleet);

let failed = true;
try {
  const result = await runScaleScenario(fleet, { ...scenario, log: (line) => console.log(line) });
  console.log(`\nRequest-reply, ${scenario.orders} order API instances × ${scenario.inventories} inventory members, ${scenario.requests} requests at ${scenario.concurrency} concurrent`);
  printTable([
    {
      requests: result.requests,
      inline: result.answeredInline,
      '202 then served': result.answeredLate,
      '503 retried': result.retried,
      unanswered: result.unanswered,
      misdelivered: result.misdelivered,
      'answered twice': result.answeredTwice,
      'in flight at end': result.inFlightAtEnd.join('/'),
      's': Number((result.elapsedMs / 1000).toFixed(1)),
      'inline p50 ms': Number(result.latencyMs.p50.toFixed(1)),
      'inline p99 ms': Number(result.latencyMs.p99.toFixed(1)),
    },
  ]);
  failed = result.unanswered + result.misdelivered + result.answeredTwice > 0 || result.inFlightAtEnd.some((n) => n !== 0);
  console.log(failed ? 'FAILED' : 'passed: every request answered once with its own reply');
  console.log(`results: ${writeResults('request-reply-scale', { scenario, result })}`);
} finally {
  await fleet.stopAll();
}
process.exit(failed ? 1 : 0);
