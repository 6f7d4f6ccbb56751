import { describe, expect, it } from 'vitest';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import { confirmationFor } from '../../../services/email/confirmation.js';

const order: OrderCreated = {
  eventId: 'evt-1',
  orderId: 'ord-42',
  customerId: 'cust-1',
  email: 'someone@example.com',
  items: [
    { sku: 'SKU-007', quantity: 3, unitPriceCents: 1435 },
    { sku: 'SKU-008', quantity: 1, unitPriceCents: 5 },
  ],
  totalCents: 3 * 1435 + 5,
  currency: 'EUR',
  createdAt: Date.UTC(2026, 0, 2),
  clientId: null,
};

describe('confirmationFor', () => {
  it('addresses the customer, with the order id in the subject', () => {
    const mail = confirmationFor(order);
    expect(mail.to).toBe('someone@example.com');
    expect(mail.subject).toBe('Order ord-42 received');
  });

  it('has one message id per order, the same on every call', () => {
    expect(confirmationFor(order).messageId).toBe('<order-ord-42@order-pipeline.local>');
    expect(confirmationFor({ ...order, eventId: 'evt-2' }).messageId).toBe(confirmationFor(order).messageId);
    expect(confirmationFor({ ...order, orderId: 'ord-43' }).messageId).not.toBe(confirmationFor(order).messageId);
  });

  it('lists every line with quantity, unit price and line total, then the order total, in cents as two decimals', () => {
    expect(confirmationFor(order).text).toBe(
      [
        'Thank you for your order.',
        '',
        'Order: ord-42',
        '  3 x SKU-007 at 14.35 EUR = 43.05 EUR',
        '  1 x SKU-008 at 0.05 EUR = 0.05 EUR',
        'Total: 43.10 EUR',
        '',
        'We will let you know if anything changes.',
      ].join('\n'),
    );
  });

  it('states the total the order carries, in its currency', () => {
    const text = confirmationFor({ ...order, totalCents: 100_000, currency: 'USD' }).text;
    expect(text).toContain('Total: 1000.00 USD');
    expect(text).toContain('at 14.35 USD');
  });

  it('never puts the address into the body', () => {
    expect(confirmationFor(order).text).not.toContain(order.email);
  });
});
