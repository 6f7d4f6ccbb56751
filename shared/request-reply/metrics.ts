import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReplierObserver } from './replier.js';
import type { RequesterObserver } from './requester.js';

/** A requester's observer as Prometheus metrics: request_reply_in_flight, _timeouts_total, _late_total, _dropped_total. */
export function requesterMetrics(registry: Registry): RequesterObserver {
  const inFlight = new Gauge({ name: 'request_reply_in_flight', help: 'Requests waiting for their reply', registers: [registry] });
  const timeouts = new Counter({
    name: 'request_reply_timeouts_total',
    help: 'Requests not answered within their timeout (answered 202; a late reply is stored)',
    registers: [registry],
  });
  const late = new Counter({ name: 'request_reply_late_total', help: 'Replies that came after their request timed out, stored for GET /requests/:id', registers: [registry] });
  const dropped = new Counter({
    name: 'request_reply_dropped_total',
    help: "Replies read that were not this instance's (another instance's on a shared partition, or a second copy)",
    registers: [registry],
  });
  return { inFlight: (count) => inFlight.set(count), timedOut: () => timeouts.inc(), late: () => late.inc(), dropped: () => dropped.inc() };
}

/** A replier's observer as Prometheus metrics: request_reply_expired_total, _repeated_total, _replies_total{outcome}. */
export function replierMetrics(registry: Registry): ReplierObserver {
  const expired = new Counter({ name: 'request_reply_expired_total', help: 'Requests past their deadline, dropped unanswered', registers: [registry] });
  const repeated = new Counter({
    name: 'request_reply_repeated_total',
    help: 'Requests delivered again whose stored reply was sent again',
    registers: [registry],
  });
  const replies = new Counter({ name: 'request_reply_replies_total', help: 'Replies sent, by outcome (answer, error)', labelNames: ['outcome'] as const, registers: [registry] });
  return { expired: () => expired.inc(), repeated: () => repeated.inc(), replied: (outcome) => replies.inc({ outcome }) };
}
