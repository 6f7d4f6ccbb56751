/**
 * The webhooks service against the real stack: order status changes published to Kafka, the
 * scheduler and the webhooks service as processes on a database of this test's own, and receivers
 * as real HTTP servers here. Every request any receiver gets is verified with the independent
 * standardwebhooks package and with the receiver kit.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../../shared/contracts/topics.js';
import type { ExportCompleted, OrderStatusChanged } from '../../../shared/contracts/schemas.js';
import { WebhookReceiver } from '../../../shared/webhooks/receiver.js';
import type { DeliveryView } from '../../../services/webhooks/deliveries.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { publishEvents } from '../../support/publish.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually, testConfig } from '../../support/stack.js';
import { ClientStore } from '../../../shared/clients/client-store.js';
import { apiFetch, authorization, testClientId } from '../../support/api-client.js';

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

type Behaviour = (request: Received, count: number, response: ServerResponse) => void;

/** One HTTP server; each path answers per its behaviour and every request is kept. */
class Receivers {
  readonly received: Received[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly hanging = new Set<ServerResponse>();
  private server!: Server;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
        const got: Received = { path: request.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.received.push(got);
        const count = this.received.filter((r) => r.path === got.path && r.headers['webhook-id'] === headers['webhook-id']).length;
        (this.behaviours.get(got.path) ?? ((_r, _c, res) => res.writeHead(200).end()))(got, count, response);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(path: string, behaviour: Behaviour): string {
    this.behaviours.set(path, behaviour);
    return `${this.base}${path}`;
  }

  /** Never answers (until the test ends). */
  hang(response: ServerResponse): void {
    this.hanging.add(response);
  }

  at(path: string, orderIds?: ReadonlySet<string>): Received[] {
    return this.received.filter((r) => r.path === path && (!orderIds || orderIds.has(orderIdOf(r))));
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** The order's id, or the export's: what each test's events are told apart by. */
function orderIdOf(request: Received): string {
  const { data } = JSON.parse(request.body) as { data: { orderId?: string; exportId?: string } };
  return data.orderId ?? data.exportId ?? '';
}

let db: OwnDatabase;
const fleet = new ServiceFleet();
const receivers = new Receivers();
let webhooks: RunningService;
/** Every secret each endpoint ever had: each request must verify under the one current at its time. */
const secrets = new Map<string, string[]>();
const endpointOfPath = new Map<string, string>();

const webhooksEnv = () => ({
  DATABASE_URL: db.url,
  WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
  // Four attempts, 1.5 s apart: webhook-timestamp (seconds) grows between them, and the test stays short.
  WEBHOOK_RETRY_SCHEDULE: '0,1500ms,1500ms,1500ms',
  WEBHOOK_TIMEOUT_MS: '2000',
  KAFKA_SESSION_TIMEOUT_MS: '6000',
});

async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const response = await apiFetch(`${webhooks.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function register(path: string, behaviour: Behaviour, events = ['order.confirmed']): Promise<string> {
  const url = receivers.on(path, behaviour);
  const created = await api<{ id: string; secret: string }>('POST', '/webhooks/endpoints', { url, events });
  expect(created.status).toBe(201);
  secrets.set(created.body.id, [created.body.secret]);
  endpointOfPath.set(path, created.body.id);
  return created.body.id;
}

async function announce(count: number, status = 'CONFIRMED', clientId: string | null = testClientId): Promise<{ ids: Set<string>; at: number }> {
  const changes: OrderStatusChanged[] = Array.from({ length: count }, () => ({
    eventId: randomUUID(),
    orderId: randomUUID(),
    status,
    previousStatus: 'PENDING',
    reason: null,
    changedAt: Date.now(),
    clientId,
  }));
  const at = Date.now();
  await publishEvents(topics.orderStatusChanged, changes);
  return { ids: new Set(changes.map((c) => c.orderId)), at };
}

async function deliveriesOf(endpointId: string): Promise<DeliveryView[]> {
  return (await api<{ deliveries: DeliveryView[] }>('GET', `/webhooks/endpoints/${endpointId}/deliveries`)).body.deliveries;
}

const ok: Behaviour = (_r, _c, response) => response.writeHead(200).end();

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_webhooks', 2);
  await receivers.start();
  // The webhooks service creates the jobs table before the scheduler polls it.
  webhooks = await fleet.start('webhooks', webhooksEnv());
  await fleet.start('scheduler', { DATABASE_URL: db.url });
}, 90_000);

afterAll(async () => {
  // Every request any receiver got is a valid Standard Webhooks request, for the package and for the kit.
  for (const request of receivers.received) {
    const endpointId = endpointOfPath.get(request.path);
    if (!endpointId) continue;
    const signedBy = secrets.get(endpointId)!.filter((secret) => {
      try {
        new Webhook(secret).verify(request.body, request.headers);
        return true;
      } catch {
        return false;
      }
    });
    expect(signedBy.length, `${request.path} ${request.headers['webhook-id']} verifies with standardwebhooks`).toBeGreaterThan(0);
    const kit = new WebhookReceiver({ secrets: signedBy, now: () => request.at });
    expect(kit.verify(request.body, request.headers).id).toBe(request.headers['webhook-id']);
  }
  await fleet.stopAll();
  await receivers.stop();
  await db?.drop();
}, 60_000);

describe('webhooks service', () => {
  it('registers an endpoint with a secret shown once, and refuses unsafe URLs and unknown event types', async () => {
    const id = await register('/basic', ok, ['order.confirmed', 'order.rejected']);
    expect(secrets.get(id)![0]).toMatch(/^whsec_/);
    const shown = await api<Record<string, unknown>>('GET', `/webhooks/endpoints/${id}`);
    expect(shown.body).toMatchObject({ id, events: ['order.confirmed', 'order.rejected'], disabledAt: null });
    expect(shown.body).not.toHaveProperty('secret');
    for (const url of ['http://10.0.0.1/hook', 'http://169.254.169.254/latest', 'ftp://127.0.0.1/x', 'http://user:pw@127.0.0.1/x']) {
      const refused = await api<{ field: string }>('POST', '/webhooks/endpoints', { url, events: ['order.confirmed'] });
      expect(refused.status, url).toBe(400);
      expect(refused.body.field).toBe('url');
    }
    expect((await api('POST', '/webhooks/endpoints', { url: `${receivers.base}/x`, events: ['order.shipped'] })).status).toBe(400);
    expect((await api('GET', '/webhooks/endpoints/ep_nope')).status).toBe(404);

    // Endpoints belong to their client: another one neither sees nor changes this one; no key, no answer.
    const other = authorization((await new ClientStore(db.pool).create(`webhooks-other-${Date.now()}`)).key);
    expect((await api('GET', `/webhooks/endpoints/${id}`, undefined, other)).status).toBe(404);
    expect((await api('GET', `/webhooks/endpoints/${id}/deliveries`, undefined, other)).status).toBe(404);
    expect((await api('POST', `/webhooks/endpoints/${id}/rotate-secret`, undefined, other)).status).toBe(404);
    expect((await api('DELETE', `/webhooks/endpoints/${id}`, undefined, other)).status).toBe(404);
    expect((await api<{ endpoints: unknown[] }>('GET', '/webhooks/endpoints', undefined, other)).body.endpoints).toEqual([]);
    expect((await fetch(`${webhooks.url}/webhooks/endpoints/${id}`)).status).toBe(401);
    expect((await api('GET', `/webhooks/endpoints/${id}`)).status).toBe(200);
  });

  it('delivers each subscribed event once per endpoint, signed; a rotated secret signs beside the new one', async () => {
    const id = endpointOfPath.get('/basic')!;
    const first = await announce(2);
    const unsubscribed = await announce(1, 'CANCELLED');
    // Another client's order reaches that client's endpoint only; an order of no client, no endpoint.
    const other = await new ClientStore(db.pool).create(`webhooks-events-${Date.now()}`);
    const otherUrl = receivers.on('/other-client', ok);
    expect((await api('POST', '/webhooks/endpoints', { url: otherUrl, events: ['order.confirmed'] }, authorization(other.key))).status).toBe(201);
    const nobodysOrder = await announce(1, 'CONFIRMED', null);
    const othersOrder = await announce(1, 'CONFIRMED', other.id);
    await eventually(async () => (receivers.at('/other-client', othersOrder.ids).length === 1 ? true : undefined), "the other client's delivery");
    const got = await eventually(async () => (receivers.at('/basic', first.ids).length === 2 ? receivers.at('/basic', first.ids) : undefined), 'two deliveries');
    expect(got.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(['order.confirmed', 'order.confirmed']);

    const rotated = await api<{ secret: string; previousExpiresAt: string }>('POST', `/webhooks/endpoints/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    secrets.get(id)!.push(rotated.body.secret);
    const second = await announce(1);
    const [after] = await eventually(async () => (receivers.at('/basic', second.ids).length === 1 ? receivers.at('/basic', second.ids) : undefined), 'after rotation');
    expect(after!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of secrets.get(id)!) expect(new Webhook(secret).verify(after!.body, after!.headers)).toBeTruthy();
    expect(receivers.at('/basic', new Set([...first.ids, ...second.ids]))).toHaveLength(3);
    expect(receivers.at('/basic', unsubscribed.ids)).toHaveLength(0);
    expect(receivers.at('/basic', new Set([...othersOrder.ids, ...nobodysOrder.ids]))).toHaveLength(0);
    expect(receivers.at('/other-client', new Set([...first.ids, ...second.ids, ...nobodysOrder.ids]))).toHaveLength(0);
    // Kept for no endpoint: the order of no client left no message behind (the other client's did).
    const kept = async (orderId: string) =>
      (await db.pool.query("SELECT 1 FROM webhook_messages WHERE body::text LIKE '%' || $1 || '%'", [orderId])).rowCount;
    expect([await kept([...nobodysOrder.ids][0]!), await kept([...othersOrder.ids][0]!)]).toEqual([0, 1]);
  });

  it('delivers export.completed to the endpoints subscribed to it', async () => {
    await register('/exports', ok, ['export.completed']);
    const done: ExportCompleted = {
      eventId: randomUUID(),
      exportId: randomUUID(),
      kind: 'orders',
      status: 'SUCCEEDED',
      rows: 42,
      resultUrl: '/exports/x/result',
      callbackUrl: null,
      error: null,
      completedAt: Date.now(),
      clientId: testClientId,
    };
    await publishEvents(topics.exportCompleted, [done], (value) => value.exportId);
    const ids = new Set([done.exportId]);
    const [got] = await eventually(async () => (receivers.at('/exports', ids).length === 1 ? receivers.at('/exports', ids) : undefined), 'export.completed');
    expect(JSON.parse(got!.body)).toMatchObject({ type: 'export.completed', data: { exportId: done.exportId, status: 'SUCCEEDED', rows: 42 } });
    expect(receivers.at('/basic', ids)).toHaveLength(0);
  });

  it('retries a failing receiver with the same webhook-id and fresh timestamps; dead-letters after the last attempt; 410 disables; a 302 is not followed', async () => {
    const flaky = await register('/flaky', (_r, count, response) => response.writeHead(count <= 3 ? 500 : 200).end());
    const failing = await register('/failing', (_r, _c, response) => response.writeHead(503, { 'retry-after': '1' }).end());
    const gone = await register('/gone', (_r, _c, response) => response.writeHead(410).end());
    const moved = await register('/moved', (_r, _c, response) => response.writeHead(302, { location: `${receivers.base}/target` }).end());
    const event = await announce(1);

    await eventually(async () => ((await deliveriesOf(flaky))[0]?.state === 'succeeded' ? true : undefined), 'flaky delivered');
    const attempts = receivers.at('/flaky', event.ids);
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const timestamps = attempts.map((r) => Number(r.headers['webhook-timestamp']));
    for (let i = 1; i < timestamps.length; i++) expect(timestamps[i]).toBeGreaterThan(timestamps[i - 1]!);
    const [view] = await deliveriesOf(flaky);
    expect(view!.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 200]);

    const [dead] = await eventually(async () => {
      const list = await deliveriesOf(failing);
      return list[0]?.state === 'dead' ? list : undefined;
    }, 'dead letter');
    expect(dead!.attempts.map((a) => a.statusCode)).toEqual([503, 503, 503, 503]);
    expect(dead!.nextAttemptAt).toBeNull();
    expect(receivers.at('/failing', event.ids)).toHaveLength(4);

    const [goneView] = await deliveriesOf(gone);
    expect(goneView!.attempts.map((a) => a.statusCode)).toEqual([410]);
    expect((await api<{ disabledAt: string | null }>('GET', `/webhooks/endpoints/${gone}`)).body.disabledAt).not.toBeNull();
    const later = await announce(1);
    await eventually(async () => (receivers.at('/flaky', later.ids).length > 0 ? true : undefined), 'a later event');
    expect(receivers.at('/gone', later.ids)).toHaveLength(0);
    expect(await deliveriesOf(gone)).toHaveLength(1);

    const movedView = await eventually(async () => {
      const list = await deliveriesOf(moved);
      return list[0]?.attempts.length ? list[0] : undefined;
    }, 'redirected attempt');
    expect(movedView.attempts[0]!.statusCode).toBe(302);
    expect(receivers.received.filter((r) => r.path === '/target')).toHaveLength(0);

    // The dead letter replayed once the receiver works again: one more attempt, same webhook-id.
    receivers.on('/failing', ok);
    expect((await api('POST', `/webhooks/endpoints/${failing}/deliveries/${dead!.id}/replay`)).status).toBe(202);
    await eventually(async () => ((await deliveriesOf(failing)).find((d) => d.id === dead!.id)?.state === 'succeeded' ? true : undefined), 'replayed');
    expect(new Set(receivers.at('/failing', event.ids).map((r) => r.headers['webhook-id'])).size).toBe(1);
    await api('DELETE', `/webhooks/endpoints/${moved}`);
  }, 40_000);

  it('an endpoint that hangs does not delay another endpoint (p99 from event to delivery ≤ 1 s)', async () => {
    await register('/hang', (_r, _c, response) => receivers.hang(response));
    await register('/fast', ok);
    const event = await announce(20);
    const fast = await eventually(async () => (receivers.at('/fast', event.ids).length === 20 ? receivers.at('/fast', event.ids) : undefined), 'fast deliveries', 20_000);
    const delays = fast.map((r) => r.at - event.at).sort((a, b) => a - b);
    const p99 = delays[Math.ceil(delays.length * 0.99) - 1]!;
    console.log(`webhooks: event to delivery beside a hanging endpoint, p50 ${delays[10]} ms, p99 ${p99} ms`);
    expect(p99).toBeLessThanOrEqual(1000);
    expect(receivers.at('/hang', event.ids).length).toBeGreaterThan(0);
    await api('DELETE', `/webhooks/endpoints/${endpointOfPath.get('/hang')}`);
  }, 30_000);

  it('a webhooks worker killed during an attempt loses no delivery: the attempt is made again', async () => {
    const id = await register('/survivor', (_r, count, response) => (count === 1 ? receivers.hang(response) : response.writeHead(200).end()));
    const event = await announce(1);
    await eventually(async () => (receivers.at('/survivor', event.ids).length === 1 ? true : undefined), 'the first attempt');
    await fleet.kill(webhooks);
    webhooks = await fleet.start('webhooks', webhooksEnv());
    const [view] = await eventually(async () => {
      const list = await deliveriesOf(id);
      return list[0]?.state === 'succeeded' ? list : undefined;
    }, 'delivered after the crash', 30_000);
    const attempts = receivers.at('/survivor', event.ids);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.headers['webhook-id']).toBe(attempts[0]!.headers['webhook-id']);
    // The lost attempt is visible: started, never answered.
    expect(view!.attempts.map((a) => [a.statusCode, a.finishedAt === null])).toEqual([
      [null, true],
      [200, false],
    ]);
  }, 40_000);
});
