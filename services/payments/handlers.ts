import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import { topics } from '../../shared/contracts/topics.js';
import type { PaymentCommand, PaymentOutcome } from '../../shared/contracts/schemas.js';
import type { PoolClient } from '../../shared/db.js';
import { PermanentError } from '../../shared/errors.js';
import { DUPLICATE } from '../../shared/kit/handle-once.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { OutboxMessage } from '../../shared/outbox/outbox.js';
import type { PaymentProviderClient, ProviderAnswer, ProviderCharge } from './provider-client.js';

const outcomes = new Counter({
  name: 'payments_outcomes_total',
  help: 'Payment commands answered, by action and outcome',
  labelNames: ['action', 'outcome'] as const,
  registers: [metrics],
});

type Outcome = PaymentOutcome['outcome'];
type Action = PaymentCommand['action'];

/** The provider's idempotency key of an order's action: every command for it (re-sent, redelivered) uses the same one. */
export const idempotencyKeyOf = (orderId: string, action: Action) => `order-${orderId}-${action.toLowerCase()}`;

export interface CrashWindow {
  /** Test hook: the process dies (SIGKILL) right after the provider's answer to these actions, before anything is recorded. */
  afterProviderCall: ReadonlySet<string>;
}

/**
 * The payments service's side of the workflow: one provider call per command, with the idempotency
 * key of the order and action, inside the transaction that claims the command and appends the
 * outcome to the outbox. A redelivered command finds its claim; a command whose process died after
 * the provider's answer and before the commit runs again with the same key, and the provider answers
 * the first call's answer again: the charge is authorized, captured, voided or refunded once.
 */
export class PaymentHandlers {
  constructor(
    private readonly effects: Effects,
    private readonly provider: PaymentProviderClient,
    private readonly crashWindow: CrashWindow = { afterProviderCall: new Set() },
  ) {}

  onCommand = async (event: InboundEvent<PaymentCommand>): Promise<void> => {
    const command = event.value;
    const result = await this.effects.handleOnce(event, async (tx) => {
      const answered = await this.perform(tx, command, event.signal);
      if (this.crashWindow.afterProviderCall.has(command.action)) {
        event.logger.warn({ orderId: command.orderId, action: command.action }, 'crash window: dying after the provider call');
        process.kill(process.pid, 'SIGKILL');
      }
      await tx.query(
        `INSERT INTO payments (order_id, charge_id, status, amount_cents, currency) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (order_id) DO UPDATE SET charge_id = COALESCE(EXCLUDED.charge_id, payments.charge_id), status = EXCLUDED.status, updated_at = now()`,
        [command.orderId, answered.chargeId, answered.outcome, command.amountCents, command.currency],
      );
      const eventId = randomUUID();
      const value: PaymentOutcome = {
        eventId,
        orderId: command.orderId,
        causationId: event.eventId,
        action: command.action,
        outcome: answered.outcome,
        chargeId: answered.chargeId,
        amountCents: command.amountCents,
        reason: answered.reason,
        handledBy: instanceId,
        occurredAt: Date.now(),
      };
      await this.effects.outbox.append(tx, [
        { topic: topics.paymentOutcomes, key: command.orderId, value, eventId, correlationId: event.correlationId } as OutboxMessage<unknown>,
      ]);
      return answered;
    });
    if (result === DUPLICATE) return;
    outcomes.inc({ action: command.action, outcome: result.outcome });
    event.logger.info({ orderId: command.orderId, action: command.action, outcome: result.outcome, attempt: command.attempt }, 'payment command answered');
  };

  private async perform(
    tx: PoolClient,
    command: PaymentCommand,
    signal: AbortSignal,
  ): Promise<{ outcome: Outcome; chargeId: string | null; reason: string | null }> {
    const key = idempotencyKeyOf(command.orderId, command.action);
    if (command.action === 'AUTHORIZE') {
      if (!command.cardToken) throw new PermanentError(`authorize command for order ${command.orderId} carries no card token`);
      const answer = await this.provider.authorize(
        { amountCents: Number(command.amountCents), currency: command.currency, cardToken: command.cardToken, reference: command.orderId },
        key,
        signal,
      );
      if (answer.kind === 'ok') return { outcome: 'AUTHORIZED', chargeId: answer.charge.id, reason: null };
      if (answer.kind === 'declined') return { outcome: 'DECLINED', chargeId: null, reason: answer.declineCode };
      throw new PermanentError(`authorization of order ${command.orderId} answered ${answer.kind}`);
    }
    const charge = await this.chargeOf(tx, command.orderId, signal);
    if (command.action === 'VOID') {
      // Nothing authorized (declined, or never reached the provider): nothing to give back; the workflow still hears.
      if (!charge) return { outcome: 'VOIDED', chargeId: null, reason: 'no authorization to void' };
      const answer = await this.provider.act(charge.id, 'void', key, signal);
      return this.expect(answer, command, charge, { ok: 'VOIDED', already: 'voided' });
    }
    if (!charge) throw new PermanentError(`order ${command.orderId} has no charge at the provider to ${command.action.toLowerCase()}`);
    if (command.action === 'CAPTURE') {
      const answer = await this.provider.act(charge.id, 'capture', key, signal);
      // The authorization is gone (voided or expired): the workflow compensates.
      if (answer.kind === 'conflict' && charge.status !== 'captured' && charge.status !== 'refunded') {
        return { outcome: 'CAPTURE_FAILED', chargeId: charge.id, reason: answer.message };
      }
      return this.expect(answer, command, charge, { ok: 'CAPTURED', already: 'captured' });
    }
    const answer = await this.provider.act(charge.id, 'refund', key, signal);
    return this.expect(answer, command, charge, { ok: 'REFUNDED', already: 'refunded' });
  }

  /** The answer of a capture, void or refund: done now, or done before (the provider says so), or a broken invariant. */
  private expect(
    answer: ProviderAnswer,
    command: PaymentCommand,
    charge: ProviderCharge,
    expected: { ok: Outcome; already: ProviderCharge['status'] },
  ): { outcome: Outcome; chargeId: string | null; reason: string | null } {
    if (answer.kind === 'ok') return { outcome: expected.ok, chargeId: charge.id, reason: null };
    if (answer.kind === 'conflict' && charge.status === expected.already) return { outcome: expected.ok, chargeId: charge.id, reason: 'done before' };
    throw new PermanentError(`${command.action} of order ${command.orderId}: the provider answered ${answer.kind} for a charge that is ${charge.status}`);
  }

  /** The order's charge: the one recorded here, else the provider's by reference (an authorization whose record died with a crash). */
  private async chargeOf(tx: PoolClient, orderId: string, signal: AbortSignal): Promise<ProviderCharge | undefined> {
    const charges = await this.provider.chargesFor(orderId, signal);
    const { rows } = await tx.query<{ charge_id: string | null }>('SELECT charge_id FROM payments WHERE order_id = $1', [orderId]);
    const recorded = rows[0]?.charge_id;
    return charges.find((charge) => charge.id === recorded) ?? charges[0];
  }
}
