import type { OrderCreated } from '../../shared/contracts/schemas.js';

export interface Confirmation {
  to: string;
  subject: string;
  text: string;
  /** One per order, so a duplicate (see the handler's crash window) is recognisable as such. */
  messageId: string;
}

function money(cents: number, currency: string): string {
  return `${(cents / 100).toFixed(2)} ${currency}`;
}

/** The order confirmation mail. The subject carries the order id, so people and tests can find it. */
export function confirmationFor(order: OrderCreated): Confirmation {
  const lines = order.items.map(
    (item) => `  ${item.quantity} x ${item.sku} at ${money(item.unitPriceCents, order.currency)} = ${money(item.quantity * item.unitPriceCents, order.currency)}`,
  );
  return {
    to: order.email,
    subject: `Order ${order.orderId} received`,
    text: [
      'Thank you for your order.',
      '',
      `Order: ${order.orderId}`,
      ...lines,
      `Total: ${money(order.totalCents, order.currency)}`,
      '',
      'We will let you know if anything changes.',
    ].join('\n'),
    messageId: `<order-${order.orderId}@order-pipeline.local>`,
  };
}
