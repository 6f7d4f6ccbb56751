import { Gauge } from 'prom-client';
import { metrics } from '../../shared/metrics.js';

const unrecordedGauge = new Gauge({
  name: 'email_unrecorded_mails',
  help: 'Mails the SMTP server accepted whose record has not committed yet (each waits for its next delivery); a process dying now sends them again',
  labelNames: ['mail'] as const,
  registers: [metrics],
});

/**
 * The mails of one kind that the SMTP server accepted in this process while the transaction that
 * records them failed (a database outage terminated it, the COMMIT failed). The next delivery of the
 * same order to this process records the mail without sending it: the record's rollback must not
 * turn into a second mail.
 */
export class UnrecordedMails {
  private readonly orders = new Set<string>();

  constructor(private readonly mail: 'confirmation' | 'follow-up' | 'payment-failed') {
    unrecordedGauge.set({ mail }, 0);
  }

  /** Whether this order's mail is out and only its record is missing: record it, do not send. */
  has(orderId: string): boolean {
    return this.orders.has(orderId);
  }

  /** The SMTP server accepted the mail; until recorded() it counts as unrecorded. */
  accepted(orderId: string): void {
    if (this.orders.has(orderId)) return;
    this.orders.add(orderId);
    unrecordedGauge.inc({ mail: this.mail });
  }

  /** Its record committed. */
  recorded(orderId: string): void {
    if (this.orders.delete(orderId)) unrecordedGauge.dec({ mail: this.mail });
  }
}
