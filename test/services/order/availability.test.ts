import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../../shared/contracts/topics.js';
import { topicEnd } from '../../support/kafka-groups.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually } from '../../support/stack.js';
import { apiFetch } from '../../support/api-client.js';

// POST /availability and GET /requests/:id with the order API and an inventory member as real processes.
const fleet = new ServiceFleet();
let order: RunningService;
let inventory: RunningService;

interface Answer {
  items?: Array<{ sku: string; requested: number; available: number; ok: boolean }>;
  repliedBy?: string;
  correlationId?: string;
  status?: string;
  field?: string;
  message?: string;
}

async function ask(body: string | object, options: { query?: string; contentType?: string; url?: string } = {}) {
  const response = await apiFetch(`${options.url ?? order.url}/availability${options.query ?? ''}`, {
    method: 'POST',
    headers: { 'Content-Type': options.contentType ?? 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer };
}

async function stock(sku: string): Promise<number> {
  return ((await (await fetch(`${inventory.url}/stock/${sku}`)).json()) as { available: number }).available;
}

async function metric(name: string): Promise<number> {
  const line = (await (await fetch(`${order.url}/metrics`)).text()).split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 0);
}

beforeAll(async () => {
  [inventory, order] = await Promise.all([fleet.start('inventory'), fleet.start('order', { REQUEST_MAX_IN_FLIGHT: '4' })]);
});

afterAll(async () => {
  await fleet.stopAll();
});

describe('POST /availability', () => {
  it("answers 200 with the inventory's stock per SKU and the member that replied", async () => {
    const [available3, available11] = [await stock('SKU-003'), await stock('SKU-011')];
    // Answered in SKU order, one line per SKU (the same SKU twice is summed).
    const response = await ask({ items: [{ sku: 'SKU-011', quantity: 1 }, { sku: 'SKU-003', quantity: 1 }, { sku: 'SKU-003', quantity: 1 }] });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      items: [
        { sku: 'SKU-003', requested: 2, available: available3, ok: available3 >= 2 },
        { sku: 'SKU-011', requested: 1, available: available11, ok: available11 >= 1 },
      ],
      repliedBy: inventory.instance,
    });
    expect(response.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('says ok: false for more than the stock holds', async () => {
    const available = await stock('SKU-004');
    const response = await ask({ items: [{ sku: 'SKU-004', quantity: Math.min(available + 1, 1000) }] });
    expect(response.status).toBe(200);
    expect(response.body.items?.[0]).toMatchObject({ sku: 'SKU-004', ok: available + 1 > 1000 });
  });

  it('refuses bad input as POST /orders does, without asking the inventory', async () => {
    const before = await topicEnd(topics.availabilityRequests.name);
    expect((await ask('{"items": [', {})).status).toBe(400);
    expect(await ask({ items: [{ sku: 'SKU-001', quantity: '2' }] })).toMatchObject({ status: 400, body: { field: 'items[0].quantity' } });
    expect(await ask({ items: [] })).toMatchObject({ status: 400 });
    expect(await ask({ items: [{ sku: 'SKU-001', quantity: 1 }], extra: 1 })).toMatchObject({ status: 400, body: { field: 'extra' } });
    expect((await ask('items=1', { contentType: 'text/plain' })).status).toBe(415);
    expect((await ask({ items: [{ sku: 'SKU-001', quantity: 1 }], pad: 'x'.repeat(20_000) })).status).toBe(413);
    expect(await ask({ items: [{ sku: 'SKU-001', quantity: 0 }] })).toMatchObject({ status: 422, body: { field: 'items[0].quantity' } });
    expect(await ask({ items: [{ sku: 'SKU-001', quantity: 1 }] }, { query: '?timeoutMs=0' })).toMatchObject({ status: 400, body: { field: 'timeoutMs' } });
    expect(await topicEnd(topics.availabilityRequests.name)).toBe(before);
  });

  it("answers an unknown SKU with the inventory's typed error, not a timeout", async () => {
    const response = await ask({ items: [{ sku: 'SKU-NOPE', quantity: 1 }] });
    expect(response.status).toBe(422);
    expect(response.headers.get('reply-error-code')).toBe('UNKNOWN_SKU');
    expect(response.body.message).toContain('SKU-NOPE');
  });
});

describe('a timeout is not a loss', () => {
  it('answers 202 with a Location past the timeout, where the reply is served once it came', async () => {
    const timeoutsBefore = await metric('request_reply_timeouts_total');
    const response = await ask({ items: [{ sku: 'SKU-005', quantity: 1 }] }, { query: '?timeoutMs=1' });
    expect(response.status).toBe(202);
    const location = response.headers.get('location');
    expect(location).toBe(`/requests/${response.body.correlationId}`);
    const served = await eventually(async () => {
      const polled = await apiFetch(`${order.url}${location}`);
      return polled.status === 200 ? ((await polled.json()) as Answer) : (expect(polled.status).toBe(202), undefined);
    }, 'the late reply at its Location', 10_000);
    expect(served).toMatchObject({ items: [{ sku: 'SKU-005', requested: 1 }], repliedBy: inventory.instance });
    expect(await metric('request_reply_timeouts_total')).toBe(timeoutsBefore + 1);
    expect(await metric('request_reply_late_total')).toBeGreaterThanOrEqual(1);
  });

  it('answers 404 for an unknown request and 400 for an id that is no UUID', async () => {
    expect((await apiFetch(`${order.url}/requests/${randomUUID()}`)).status).toBe(404);
    expect((await apiFetch(`${order.url}/requests/nope`)).status).toBe(400);
  });
});

describe('bounded', () => {
  it('refuses requests over REQUEST_MAX_IN_FLIGHT with 503 and Retry-After, and the in-flight gauge returns to 0', async () => {
    // The inventory member frozen: four requests wait for their replies, the next ones are refused.
    inventory.child.kill('SIGSTOP');
    try {
      const waiting = [1, 2, 3, 4].map((i) => ask({ items: [{ sku: `SKU-00${i}`, quantity: 1 }] }, { query: '?timeoutMs=8000' }));
      await eventually(async () => ((await metric('request_reply_in_flight')) === 4 ? true : undefined), 'four requests in flight', 5000);
      const refused = await ask({ items: [{ sku: 'SKU-009', quantity: 1 }] });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      inventory.child.kill('SIGCONT');
      expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    } finally {
      inventory.child.kill('SIGCONT');
    }
    expect(await metric('request_reply_in_flight')).toBe(0);
  }, 30_000);
});
