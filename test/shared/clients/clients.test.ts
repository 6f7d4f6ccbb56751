/**
 * API clients against the real order service: keys (401 without a valid one, revoked included),
 * ownership (another client's order is not found), Idempotency-Keys per client and expiring after
 * 24 h, per-client rate limits (429 with Retry-After), and the `npm run clients` tool.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientStore } from '../../../shared/clients/client-store.js';
import type { Pool } from '../../../shared/db.js';
import { orderIdempotencyKeys } from '../../../services/order/orders.js';
import { repoRoot } from '../../../stack/layout.js';
import { authorization, testAdminToken } from '../../support/api-client.js';
import { testPool, type OrderRequest } from '../../support/order-api.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually } from '../../support/stack.js';

const RATE_LIMIT = 6;
const fleet = new ServiceFleet();
let order: RunningService;
let pool: Pool;
let clients: ClientStore;

const anOrder = (): OrderRequest => ({
  customerId: `clients-${randomUUID()}`,
  email: 'clients@order-api.example',
  currency: 'EUR',
  items: [{ sku: 'SKU-003', quantity: 1 }],
});

/** A new client's key. */
async function newClient(): Promise<string> {
  return (await clients.create(`test-${randomUUID().slice(0, 13)}`)).key;
}

async function call(method: string, urlPath: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(`${order.url}${urlPath}`, {
    method,
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

const place = (key: string, extra: Record<string, string> = {}, body: OrderRequest = anOrder()) =>
  call('POST', '/orders', { ...authorization(key), ...extra }, body);

beforeAll(async () => {
  pool = testPool();
  clients = new ClientStore(pool);
  order = await fleet.start('order', { API_RATE_LIMIT_MAX: String(RATE_LIMIT), API_RATE_LIMIT_WINDOW_MS: '60000' });
}, 90_000);

afterAll(async () => {
  await fleet.stopAll();
  await pool?.end();
});

describe('API clients', () => {
  it('refuses a request without a valid key with 401 and a problem body; health, readiness and metrics stay open', async () => {
    const key = await newClient();
    const forged = `${key.slice(0, -4)}AAAA`;
    for (const headers of [{}, { Authorization: key }, { Authorization: 'Basic dXNlcjpwYXNz' }, authorization('opk_nope'), authorization(forged)]) {
      const answer = await call('POST', '/orders', headers, anOrder());
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', field: 'Authorization' });
    }
    expect((await call('GET', `/orders/${randomUUID()}`, {})).status).toBe(401);
    for (const open of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`${order.url}${open}`)).status).toBe(200);
  });

  it("answers 404 for another client's order, to read it or to cancel it", async () => {
    const [owner, other] = [await newClient(), await newClient()];
    const placed = await place(owner);
    expect(placed.status).toBe(202);
    const id = String(placed.body.orderId);
    expect((await call('GET', `/orders/${id}`, authorization(owner))).status).toBe(200);
    expect((await call('GET', `/orders/${id}`, authorization(other))).status).toBe(404);
    expect((await call('POST', `/orders/${id}/cancel`, authorization(other))).status).toBe(404);
    const { rows } = await pool.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [id]);
    expect(rows[0]!.status).not.toMatch(/CANCEL/);
  });

  it("scopes Idempotency-Keys per client: the same key from two clients makes two orders; a key expires after 24 h", async () => {
    const [first, second] = [await newClient(), await newClient()];
    const idempotencyKey = `shared-${randomUUID()}`;
    const body = anOrder();
    const a = await place(first, { 'Idempotency-Key': idempotencyKey }, body);
    const b = await place(second, { 'Idempotency-Key': idempotencyKey }, body);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body.orderId).not.toBe(a.body.orderId);
    const again = await place(first, { 'Idempotency-Key': idempotencyKey }, body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.orderId).toBe(a.body.orderId);

    // 25 hours later the key answers no more: the same key makes a new order, and old keys are pruned.
    await pool.query(`UPDATE order_idempotency_keys SET created_at = now() - interval '25 hours' WHERE idempotency_key = $1`, [idempotencyKey]);
    const later = await place(first, { 'Idempotency-Key': idempotencyKey }, body);
    expect(later.status).toBe(202);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect(later.body.orderId).not.toBe(a.body.orderId);
    expect(await orderIdempotencyKeys.prune(pool)).toBeGreaterThanOrEqual(1);
    const { rows } = await pool.query('SELECT client_id FROM order_idempotency_keys WHERE idempotency_key = $1', [idempotencyKey]);
    expect(rows).toHaveLength(1); // first's renewed key; second's expired one is gone
  });

  it('limits each client on its own: past the limit 429 with Retry-After, while another client goes on', async () => {
    const [busy, calm] = [await newClient(), await newClient()];
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i <= RATE_LIMIT; i++) {
      const answer = await call('GET', `/orders/${randomUUID()}`, authorization(busy));
      statuses.push(answer.status);
      if (answer.status === 429) refused = answer;
    }
    expect(statuses).toEqual([...Array<number>(RATE_LIMIT).fill(404), 429]);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused!.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect((await call('GET', `/orders/${randomUUID()}`, authorization(calm))).status).toBe(404);
  });

  it('npm run clients: create prints the key once, list shows no secret, revoke makes the key fail with 401', async () => {
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'tools', 'clients', 'cli.ts'), ...args], {
        cwd: repoRoot,
        env: { ...process.env, LOG_LEVEL: 'warn' },
      });
    const name = `cli-${randomUUID().slice(0, 8)}`;
    const created = await run('create', '--name', name);
    const key = /key \(shown once[^)]*\): (opk_\S+)/.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect((await place(key!)).status).toBe(202);

    const listed = await run('list', '--json');
    const mine = (JSON.parse(listed.stdout) as Array<Record<string, unknown>>).find((c) => c.name === name);
    expect(mine).toMatchObject({ name, revokedAt: null });
    expect(listed.stdout).not.toContain(key!.slice(-20));
    const { rows } = await pool.query<{ key_hash: string }>('SELECT key_hash FROM api_clients WHERE name = $1', [name]);
    expect(listed.stdout).not.toContain(rows[0]!.key_hash);

    const revoked = await run('revoke', name);
    expect(revoked.stdout).toContain('revoked');
    // Within API_KEY_CACHE_MS (1 s) of the revocation.
    const refusedAt = Date.now();
    await eventually(async () => ((await call('GET', `/orders/${randomUUID()}`, authorization(key!))).status === 401) || undefined, 'the revoked key refused', 3000);
    expect(Date.now() - refusedAt).toBeLessThan(1500);
    expect((await place(key!)).status).toBe(401);
    await expect(run('create', '--name', name)).rejects.toMatchObject({ code: 2 });
  }, 60_000);
});

describe('operator endpoints (ADMIN_TOKEN)', () => {
  const admin = (token?: string): Record<string, string> => (token === undefined ? {} : { Authorization: `Bearer ${token}` });

  it('refuse without the admin token, with a wrong one and with a client API key, all 401', async () => {
    for (const headers of [admin(), admin('wrong-token-of-the-right-shape-but-not-ours'), authorization()]) {
      const refused = await call('GET', '/admin/clients', headers);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      expect(refused.body.field).toBe('Authorization');
    }
  });

  it('create a client whose key then places orders, list it without a secret, revoke it so its key gets 401', async () => {
    const name = `admin-${randomUUID().slice(0, 13)}`;
    const created = await call('POST', '/admin/clients', admin(testAdminToken), { name });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^opk_/);
    expect((await call('POST', '/admin/clients', admin(testAdminToken), { name })).status).toBe(409);
    expect((await call('POST', '/admin/clients', admin(testAdminToken), { name: '../x' })).body.field).toBe('name');

    expect((await place(key)).status).toBe(202);
    const listed = await call('GET', '/admin/clients', admin(testAdminToken));
    const entry = (listed.body.clients as Record<string, unknown>[]).find((client) => client.name === name);
    expect(entry).toMatchObject({ id: created.body.id, revokedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(key.slice(-20));

    expect((await call('POST', `/admin/clients/${name}/revoke`, admin(testAdminToken))).status).toBe(200);
    expect((await call('POST', `/admin/clients/${name}/revoke`, admin(testAdminToken))).status).toBe(404);
    // The key cache keeps a valid key for API_KEY_CACHE_MS (1 s by default).
    await eventually(async () => ((await place(key)).status === 401 ? true : undefined), 'the revoked key refused', 5000);
  });

  it('refuse everyone on a service without ADMIN_TOKEN', async () => {
    const bare = await fleet.start('order', { ADMIN_TOKEN: '' });
    const refused = await fetch(`${bare.url}/admin/clients`, { headers: admin(testAdminToken) });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { message: string }).message).toContain('no ADMIN_TOKEN');
  });
});
