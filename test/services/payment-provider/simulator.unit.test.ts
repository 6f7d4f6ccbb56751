import { afterEach, describe, expect, it } from 'vitest';
import { buildPaymentProvider } from '../../../services/payment-provider/simulator.js';

const built = buildPaymentProvider();
const { app } = built;

const post = (url: string, key: string | undefined, payload: unknown = {}) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers: key === undefined ? {} : { 'idempotency-key': key } });
const authorize = (key: string, extra: Record<string, unknown> = {}) =>
  post('/v1/charges', key, { amountCents: 1500, currency: 'EUR', cardToken: 'tok_visa', reference: 'order-1', ...extra });

afterEach(async () => {
  await app.inject({ method: 'POST', url: '/_control/reset' });
});

describe('payment provider simulator', () => {
  it('authorizes, captures and refunds a charge, each once; the same key answers the first answer again', async () => {
    const first = await authorize('a-1');
    expect(first.statusCode).toBe(201);
    const charge = first.json<{ id: string; status: string }>();
    expect(charge.status).toBe('authorized');
    const again = await authorize('a-1');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json<{ id: string }>().id).toBe(charge.id);
    expect(built.charges.size).toBe(1);

    expect((await post(`/v1/charges/${charge.id}/capture`, 'c-1')).json<{ status: string }>().status).toBe('captured');
    expect((await post(`/v1/charges/${charge.id}/capture`, 'c-1')).statusCode).toBe(200);
    expect((await post(`/v1/charges/${charge.id}/capture`, 'c-2')).statusCode).toBe(409);
    expect((await post(`/v1/charges/${charge.id}/void`, 'v-1')).statusCode).toBe(409);
    expect((await post(`/v1/charges/${charge.id}/refund`, 'r-1')).json<{ status: string }>().status).toBe('refunded');
    const records = (await app.inject({ method: 'GET', url: '/v1/charges?reference=order-1' })).json<{ data: Array<{ operations: Array<{ type: string }> }> }>();
    expect(records.data[0]!.operations.map((o) => o.type)).toEqual(['authorize', 'capture', 'refund']);
  });

  it('refuses a key reused for another request (422) and a POST without a key (400)', async () => {
    await authorize('k');
    expect((await authorize('k', { amountCents: 999 })).statusCode).toBe(422);
    expect((await post('/v1/charges', undefined, { amountCents: 1, currency: 'EUR', cardToken: 'tok_visa', reference: 'x' })).statusCode).toBe(400);
  });

  it('declines by card token and by amount, and keeps the decline for its key', async () => {
    const declined = await authorize('d-1', { cardToken: 'tok_chargeDeclined' });
    expect(declined.statusCode).toBe(402);
    expect(declined.json<{ error: { declineCode: string } }>().error.declineCode).toBe('generic_decline');
    expect((await authorize('d-2', { cardToken: 'tok_insufficientFunds' })).json<{ error: { declineCode: string } }>().error.declineCode).toBe('insufficient_funds');
    await app.inject({ method: 'POST', url: '/_control', payload: { declineAmountsOverCents: 1000, declineCardTokens: ['tok_mine'] } });
    expect((await authorize('d-3')).statusCode).toBe(402);
    expect((await authorize('d-4', { amountCents: 500, cardToken: 'tok_mine' })).statusCode).toBe(402);
    expect((await authorize('d-5', { amountCents: 500 })).statusCode).toBe(201);
    expect(built.charges.size).toBe(1);
  });

  it('an outage answers 503 with no effect, and a 503 is not kept for its key', async () => {
    await app.inject({ method: 'POST', url: '/_control', payload: { outage: true } });
    expect((await authorize('o-1')).statusCode).toBe(503);
    expect(built.charges.size).toBe(0);
    await app.inject({ method: 'POST', url: '/_control', payload: { outage: false } });
    expect((await authorize('o-1')).statusCode).toBe(201);
  });
});
