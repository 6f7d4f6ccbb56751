/**
 * The order workflow as one table: every state, what each event does in it, and each step's
 * timeout. workflow.ts runs it (locks the order, looks the event up here, applies the effects and
 * writes a history row); nothing else moves an order's status. The README's diagram is this table.
 */

export const orderStatuses = [
  'PENDING',
  'PAYMENT_AUTHORIZED',
  'RESERVED',
  'CONFIRMED',
  'VOIDING',
  'REJECTED',
  'CANCELLING',
  'REFUNDING',
  'CANCELLED',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/** What moves an order: an answer of payments or inventory, its step's timeout, or the client's cancel. */
export type Trigger =
  | 'payment.authorized'
  | 'payment.declined'
  | 'payment.captured'
  | 'payment.capture-failed'
  | 'payment.voided'
  | 'payment.refunded'
  | 'inventory.reserved'
  | 'inventory.rejected'
  | 'inventory.released'
  | 'timeout.exhausted'
  | 'cancel';

/** The commands a step sends (and sends again when its timeout retries it). */
export type Command = 'authorize' | 'reserve' | 'capture' | 'void' | 'refund' | 'release';

/** Further effects of a transition, beyond entering the new state's step. */
export type Effect = Command | 'mail-payment-failed' | 'schedule-follow-up' | 'cancel-follow-up';

/** Which configured timeout a step waits for. */
export type TimeoutKind = 'authorization' | 'reservation' | 'payment';

export interface Step {
  /** Sent on entering the state and again at each timeout that retries it (same idempotency key). */
  command: Command;
  timeout: TimeoutKind;
  /** Attempts before the state's timeout.exhausted rule applies; unbounded: retried until answered. */
  attempts: 'configured' | 1 | 'unbounded';
}

/** The states that wait for an answer, each with its step. The others are final or wait for the client (CONFIRMED). */
export const steps: Partial<Record<OrderStatus, Step>> = {
  PENDING: { command: 'authorize', timeout: 'authorization', attempts: 'configured' },
  PAYMENT_AUTHORIZED: { command: 'reserve', timeout: 'reservation', attempts: 1 },
  RESERVED: { command: 'capture', timeout: 'payment', attempts: 'unbounded' },
  VOIDING: { command: 'void', timeout: 'payment', attempts: 'unbounded' },
  CANCELLING: { command: 'release', timeout: 'payment', attempts: 'unbounded' },
  REFUNDING: { command: 'refund', timeout: 'payment', attempts: 'unbounded' },
};

export interface Rule {
  from: readonly OrderStatus[];
  on: Trigger;
  /** The new state; 'same' keeps the order where it is (a late or repeated answer). */
  to: OrderStatus | 'same';
  /** The status reason; 'event' takes the event's own (inventory's shortage text). */
  reason?: string | 'event';
  effects?: readonly Effect[];
  /** Why, for the README and the history. */
  note: string;
}

export const PAYMENT_DECLINED = 'payment_declined';
export const PAYMENT_TIMEOUT = 'payment_timeout';
/** The reservation got no answer in time (the pre-payment saga's reason, kept). */
export const TIMEOUT_REASON = 'timeout';
export const CAPTURE_FAILED = 'capture_failed';

const afterAuthorization: readonly OrderStatus[] = ['PAYMENT_AUTHORIZED', 'RESERVED', 'CONFIRMED', 'VOIDING', 'CANCELLING', 'REFUNDING', 'CANCELLED'];

export const rules: readonly Rule[] = [
  { from: ['PENDING'], on: 'payment.authorized', to: 'PAYMENT_AUTHORIZED', note: 'authorized: reserve the stock' },
  { from: ['PENDING'], on: 'payment.declined', to: 'REJECTED', reason: PAYMENT_DECLINED, effects: ['mail-payment-failed'], note: 'declined: tell the customer' },
  {
    from: ['PENDING'],
    on: 'timeout.exhausted',
    to: 'REJECTED',
    reason: PAYMENT_TIMEOUT,
    effects: ['void', 'mail-payment-failed'],
    note: 'no answer after every attempt: void whatever may have been authorized, tell the customer',
  },
  { from: ['PAYMENT_AUTHORIZED'], on: 'inventory.reserved', to: 'RESERVED', note: 'reserved: capture the payment' },
  { from: ['PAYMENT_AUTHORIZED'], on: 'inventory.rejected', to: 'VOIDING', reason: 'event', note: 'stock short: void the authorization (compensation)' },
  {
    from: ['PAYMENT_AUTHORIZED'],
    on: 'timeout.exhausted',
    to: 'VOIDING',
    reason: TIMEOUT_REASON,
    effects: ['release'],
    note: 'inventory did not answer: release what it may hold, void the authorization',
  },
  { from: ['RESERVED'], on: 'payment.captured', to: 'CONFIRMED', effects: ['schedule-follow-up'], note: 'captured: the order is confirmed' },
  {
    from: ['RESERVED'],
    on: 'payment.capture-failed',
    to: 'VOIDING',
    reason: CAPTURE_FAILED,
    effects: ['release'],
    note: 'the authorization was gone: release the stock, void',
  },
  { from: ['VOIDING'], on: 'payment.voided', to: 'REJECTED', note: 'authorization voided: rejected, nothing charged' },
  { from: ['CONFIRMED'], on: 'cancel', to: 'CANCELLING', effects: ['cancel-follow-up'], note: 'the client cancels: release the stock, then refund' },
  { from: ['CANCELLING'], on: 'inventory.released', to: 'REFUNDING', note: 'stock released: refund the capture' },
  { from: ['REFUNDING'], on: 'payment.refunded', to: 'CANCELLED', note: 'refunded: cancelled' },
  // Late or repeated answers: a step re-sent by its timeout is answered twice; an answer can come after the timeout moved on.
  { from: ['REJECTED'], on: 'payment.authorized', to: 'same', effects: ['void'], note: 'an authorization after the order ended: void it (compensation)' },
  { from: afterAuthorization, on: 'payment.authorized', to: 'same', note: 'a re-sent authorization answered again' },
  { from: ['REJECTED', 'VOIDING'], on: 'inventory.reserved', to: 'same', effects: ['release'], note: 'a reservation after the order ended: release it' },
  { from: ['REJECTED', 'VOIDING', 'CANCELLED', 'REFUNDING'], on: 'inventory.released', to: 'same', note: 'a release answered (again)' },
  { from: ['REJECTED'], on: 'payment.voided', to: 'same', note: 'a compensating void answered' },
  { from: ['REJECTED'], on: 'payment.declined', to: 'same', note: 'a re-sent authorization declined after the timeout' },
  { from: ['REJECTED'], on: 'inventory.rejected', to: 'same', note: 'a re-sent reservation answered after the order ended' },
  { from: ['CONFIRMED', 'CANCELLING', 'REFUNDING', 'CANCELLED'], on: 'payment.captured', to: 'same', note: 'a re-sent capture answered again' },
  { from: ['CANCELLED'], on: 'payment.refunded', to: 'same', note: 'a re-sent refund answered again' },
  { from: ['REJECTED'], on: 'payment.capture-failed', to: 'same', note: 'a re-sent capture failed after the order ended' },
];

/** The statuses a client hears about (order.status-changed, then webhooks). */
export const announcedStatuses: ReadonlySet<OrderStatus> = new Set(['CONFIRMED', 'REJECTED', 'CANCELLED']);

/** The rule for a trigger in a state, or undefined: an event the table does not expect there (the DLQ, naming the state). */
export function ruleFor(state: OrderStatus, trigger: Trigger): Rule | undefined {
  return rules.find((rule) => rule.on === trigger && rule.from.includes(state));
}

/** How many attempts a state's step gets: the timeout after the last applies timeout.exhausted. */
export function attemptsOf(step: Step, configuredAuthorizationAttempts: number): number {
  if (step.attempts === 'configured') return configuredAuthorizationAttempts;
  return step.attempts === 'unbounded' ? Number.POSITIVE_INFINITY : step.attempts;
}

/** The table as a Mermaid state diagram (the README's, checked against this table by a unit test). */
export function mermaidDiagram(): string {
  const lines = ['stateDiagram-v2', '  [*] --> PENDING: POST /orders (authorize)'];
  for (const rule of rules) {
    if (rule.to === 'same') continue;
    const command = steps[rule.to]?.command;
    const effects = [...(command ? [command] : []), ...(rule.effects ?? [])];
    for (const from of rule.from) lines.push(`  ${from} --> ${rule.to}: ${rule.on}${effects.length > 0 ? ` (${effects.join(', ')})` : ''}`);
  }
  for (const [state, step] of Object.entries(steps)) {
    if (step.attempts !== 1) lines.push(`  ${state} --> ${state}: timeout, retry (${step.command})`);
  }
  lines.push('  CONFIRMED --> [*]', '  REJECTED --> [*]', '  CANCELLED --> [*]');
  return lines.join('\n');
}
