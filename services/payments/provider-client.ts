import { DependencyUnavailableError, PermanentError } from '../../shared/errors.js';

export interface ProviderCharge {
  id: string;
  reference: string;
  amountCents: number;
  currency: string;
  status: 'authorized' | 'captured' | 'voided' | 'refunded';
}

export type ProviderAnswer =
  | { kind: 'ok'; charge: ProviderCharge }
  | { kind: 'declined'; declineCode: string }
  | { kind: 'conflict'; message: string }
  | { kind: 'not-found' };

/** The provider did not answer (refused, 5xx, past the timeout): not the command's fault; the same key is tried again. */
export class PaymentProviderUnavailableError extends DependencyUnavailableError {}

/** The provider refused the request as malformed: no retry can help. */
export class PaymentProviderRequestError extends PermanentError {}

/**
 * The payment provider's HTTP API, as the payments service uses it. Every POST carries an
 * idempotency key, so a call repeated after a lost answer or a crash has the first call's effect
 * and answer, never a second one.
 */
export class PaymentProviderClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  authorize(
    request: { amountCents: number; currency: string; cardToken: string; reference: string },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ProviderAnswer> {
    return this.call('POST', '/v1/charges', request, idempotencyKey, signal);
  }

  act(chargeId: string, action: 'capture' | 'void' | 'refund', idempotencyKey: string, signal?: AbortSignal): Promise<ProviderAnswer> {
    return this.call('POST', `/v1/charges/${encodeURIComponent(chargeId)}/${action}`, {}, idempotencyKey, signal);
  }

  /** The charges the provider holds for a reference (the order id), oldest first. */
  async chargesFor(reference: string, signal?: AbortSignal): Promise<ProviderCharge[]> {
    const response = await this.fetch(`/v1/charges?reference=${encodeURIComponent(reference)}`, { method: 'GET' }, signal);
    if (!response.ok) throw new PaymentProviderUnavailableError(`payment provider answered ${response.status} to a charge lookup`);
    return ((await response.json()) as { data: ProviderCharge[] }).data;
  }

  private async call(method: string, path: string, body: unknown, idempotencyKey: string, signal?: AbortSignal): Promise<ProviderAnswer> {
    const response = await this.fetch(
      path,
      { method, headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey }, body: JSON.stringify(body) },
      signal,
    );
    const payload = (await response.json().catch(() => ({}))) as { error?: { code?: string; declineCode?: string; message?: string } };
    if (response.status >= 200 && response.status < 300) return { kind: 'ok', charge: payload as unknown as ProviderCharge };
    if (response.status === 402) return { kind: 'declined', declineCode: payload.error?.declineCode ?? 'card_declined' };
    if (response.status === 409) return { kind: 'conflict', message: payload.error?.message ?? 'conflict' };
    if (response.status === 404) return { kind: 'not-found' };
    if (response.status >= 500 || response.status === 429) throw new PaymentProviderUnavailableError(`payment provider answered ${response.status}`);
    throw new PaymentProviderRequestError(`payment provider refused ${method} ${path}: ${response.status} ${payload.error?.code ?? ''}`);
  }

  private async fetch(path: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      return await fetch(new URL(path, this.baseUrl), { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (error) {
      throw new PaymentProviderUnavailableError(`payment provider unreachable or too slow (${path.split('?')[0]})`, { cause: error });
    }
  }
}
