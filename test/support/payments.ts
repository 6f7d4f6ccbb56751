/**
 * The payment side of a test's pipeline: the provider simulator as a real HTTP server in the test
 * process (the third party; services call it over HTTP) and the payments service as a process.
 */
import { startPaymentProvider, type Behaviour, type Charge, type PaymentProvider } from '../../services/payment-provider/simulator.js';
import type { RunningService, ServiceFleet } from './services.js';

export type { Charge, PaymentProvider };

export async function startProvider(): Promise<PaymentProvider> {
  return startPaymentProvider(0);
}

/** The payments service against `provider`. */
export function startPayments(fleet: ServiceFleet, provider: PaymentProvider, env: Record<string, string> = {}): Promise<RunningService> {
  return fleet.start('payments', { PAYMENT_PROVIDER_URL: provider.url, PAYMENT_PROVIDER_TIMEOUT_MS: '15000', ...env });
}

/** Changes the simulator's behaviour through its HTTP controls, as a demo would. */
export async function control(provider: PaymentProvider, behaviour: Partial<Behaviour>): Promise<void> {
  const response = await fetch(`${provider.url}/_control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(behaviour) });
  if (!response.ok) throw new Error(`provider control answered ${response.status}`);
}

/** The provider's own records of an order's charges, through its API. */
export async function chargesOf(provider: PaymentProvider, orderId: string): Promise<Charge[]> {
  const response = await fetch(`${provider.url}/v1/charges?reference=${orderId}`);
  return ((await response.json()) as { data: Charge[] }).data;
}

/** How many times each operation took effect on an order's charges. */
export async function operationsOf(provider: PaymentProvider, orderId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = { authorize: 0, capture: 0, void: 0, refund: 0 };
  for (const charge of await chargesOf(provider, orderId)) for (const operation of charge.operations) counts[operation.type]! += 1;
  return counts;
}
