import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  announcedStatuses,
  attemptsOf,
  mermaidDiagram,
  orderStatuses,
  ruleFor,
  rules,
  steps,
  type OrderStatus,
} from '../../../services/order/workflow-table.js';

describe('the order workflow table', () => {
  it('reaches every state from PENDING', () => {
    const reached = new Set<OrderStatus>(['PENDING']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const rule of rules) {
        if (rule.to !== 'same' && rule.from.some((from) => reached.has(from)) && !reached.has(rule.to)) {
          reached.add(rule.to);
          grew = true;
        }
      }
    }
    expect([...reached].sort()).toEqual([...orderStatuses].sort());
  });

  it('has one rule at most per state and trigger (the machine is deterministic)', () => {
    const seen = new Set<string>();
    for (const rule of rules) {
      for (const from of rule.from) {
        const key = `${from} ${rule.on}`;
        expect(seen.has(key), key).toBe(false);
        seen.add(key);
      }
    }
  });

  it('gives every step with a bounded number of attempts a rule for its last timeout; the others are retried until answered', () => {
    for (const [state, step] of Object.entries(steps)) {
      const attempts = attemptsOf(step, 2);
      if (Number.isFinite(attempts)) expect(ruleFor(state as OrderStatus, 'timeout.exhausted'), state).toBeDefined();
      else expect(ruleFor(state as OrderStatus, 'timeout.exhausted'), state).toBeUndefined();
    }
  });

  it('never leaves a waiting state without a step: every non-final state but CONFIRMED has a command and a timeout', () => {
    const waiting = orderStatuses.filter((s) => !announcedStatuses.has(s));
    for (const state of waiting) expect(steps[state], state).toBeDefined();
    expect(steps.CONFIRMED).toBeUndefined();
  });

  it('the paths of the issue', () => {
    expect(ruleFor('PENDING', 'payment.declined')).toMatchObject({ to: 'REJECTED', reason: 'payment_declined', effects: ['mail-payment-failed'] });
    expect(ruleFor('PAYMENT_AUTHORIZED', 'inventory.rejected')).toMatchObject({ to: 'VOIDING' });
    expect(steps.VOIDING?.command).toBe('void');
    expect(ruleFor('RESERVED', 'payment.captured')?.to).toBe('CONFIRMED');
    expect(ruleFor('CONFIRMED', 'cancel')?.to).toBe('CANCELLING');
    expect(ruleFor('REJECTED', 'payment.authorized')).toMatchObject({ to: 'same', effects: ['void'] });
    expect(ruleFor('PENDING', 'payment.refunded')).toBeUndefined();
    expect(ruleFor('CONFIRMED', 'inventory.reserved')).toBeUndefined();
  });

  it('the README shows this table as its diagram', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(mermaidDiagram());
  });
});
