/**
 * The exports service as real processes against a database of this test's own: 250,000 orders of
 * two lines (500,000 CSV rows) seeded by SQL. Relays point at a port where no broker listens: what
 * is proved of the lifecycle events here is their hand-off to the outbox.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { readSse, referenceCsv, seedOrders, seedRevenue, seedStart, sha256, type SseEvent } from '../../support/exports.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually, testConfig } from '../../support/stack.js';
import { ClientStore } from '../../../shared/clients/client-store.js';
import { apiFetch, authorization, testClientId } from '../../support/api-client.js';

const ORDERS = 250_000;
const CHUNK = 10_000;
const LEASE_MS = 3000;
const HEARTBEAT_MS = 1000;

let db: OwnDatabase;
const fleet = new ServiceFleet();
const from = new Date(seedStart).toISOString();
const to = new Date(seedStart + (ORDERS + 1) * 1000).toISOString();
/** The first 100,000 orders: 200,000 rows. */
const toSmaller = new Date(seedStart + 100_000 * 1000 + 500).toISOString();
let reference: { full: string; smaller: string };

function start(extra: Record<string, string> = {}): Promise<RunningService> {
  return fleet.start('exports', {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: '127.0.0.1:9',
    LOG_LEVEL: 'info',
    TASK_LEASE_MS: String(LEASE_MS),
    TASK_HEARTBEAT_MS: String(HEARTBEAT_MS),
    TASK_POLL_MS: '250',
    TASK_CHUNK_ROWS: String(CHUNK),
    TASK_CONCURRENCY: '1',
    TASK_MAX_ATTEMPTS: '3',
    TASK_RETRY_INITIAL_MS: '200',
    ...extra,
  });
}

interface ExportView {
  exportId: string;
  status: string;
  progress: { done: number; total: number | null; percent: number | null; rowsPerSecond: number | null; etaSeconds: number | null };
  attempts: number;
  resultUrl?: string;
  error?: { code: string; message: string };
}

/** The processes still running (not killed, not stopped). */
const alive = () => fleet.started.filter((s) => s.child.exitCode === null && s.child.signalCode === null);

async function post(service: RunningService, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return apiFetch(`${service.url}/exports`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function requestExport(service: RunningService, range: { from: string; to: string }, kind = 'orders'): Promise<string> {
  const response = await post(service, { kind, format: 'csv', ...range });
  expect(response.status).toBe(202);
  return ((await response.json()) as { exportId: string }).exportId;
}

async function view(service: RunningService, id: string): Promise<ExportView> {
  return (await (await apiFetch(`${service.url}/exports/${id}`)).json()) as ExportView;
}

async function finished(service: RunningService, id: string, timeoutMs = 60_000): Promise<ExportView> {
  return eventually(
    async () => {
      const current = await view(service, id);
      return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(current.status) ? current : undefined;
    },
    `export ${id} finished`,
    timeoutMs,
  );
}

async function result(service: RunningService, id: string): Promise<string> {
  const response = await apiFetch(`${service.url}/exports/${id}/result`);
  expect(response.status).toBe(200);
  return response.text();
}

interface Lease {
  owner: string | null;
  fence: number;
  done: number;
  chunks: number;
}

async function lease(id: string): Promise<Lease> {
  const { rows } = await db.pool.query<Lease>('SELECT lease_owner AS owner, fence::int, done::int, chunks FROM tasks WHERE id = $1', [id]);
  return rows[0]!;
}

/** The process holding the task's lease (its owner is "<instance>:<pid>"). */
async function holder(id: string, minChunks = 1): Promise<{ service: RunningService; lease: Lease }> {
  return eventually(
    async () => {
      const current = await lease(id);
      const service = fleet.started.find((s) => current.owner === `${s.instance}:${s.child.pid}`);
      return service && current.chunks >= minChunks ? { service, lease: current } : undefined;
    },
    `a worker holding ${id} with ${minChunks} chunks done`,
    30_000,
  );
}

async function claims(id: string): Promise<Array<{ fence: number; owner: string; resumedFrom: number }>> {
  const { rows } = await db.pool.query<{ fence: number; owner: string; resumedFrom: number }>(
    'SELECT fence::int, owner, resumed_from::int AS "resumedFrom" FROM task_claims WHERE task_id = $1 ORDER BY fence',
    [id],
  );
  return rows;
}

/** No row twice, none missing: every (order_id, line_no) of the range once. */
function keysOf(csv: string): string[] {
  return csv
    .split('\r\n')
    .slice(1, -1)
    .filter((line) => /^[0-9a-f-]{36},\d+,/.test(line))
    .map((line) => line.split(',', 2).join(','));
}

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_exports', 4);
  await seedOrders(db.pool, ORDERS, 2, testClientId);
  await seedRevenue(db.pool, 30_000, 48, testClientId);
  const [started] = await Promise.all([start(), start(), (async () => {
    reference = {
      full: sha256(await referenceCsv(db.pool, 'orders', from, to, testClientId)),
      smaller: sha256(await referenceCsv(db.pool, 'orders', from, toSmaller, testClientId)),
    };
  })()]);
  expect(started).toBeDefined();
}, 120_000);

afterAll(async () => {
  await fleet.stopAll();
  await db?.drop();
});

describe('exports service', () => {
  it('exports 500,000 rows uninterrupted: progress monotonic, SSE and GET agree, 304 while unchanged, the CSV equals COPY of the same query', async () => {
    const [service] = alive();
    const id = await requestExport(service!, { from, to });
    const polled: ExportView[] = [];
    let notModified = 0;
    let etag: string | undefined;
    const polling = (async () => {
      for (;;) {
        const response = await apiFetch(`${service!.url}/exports/${id}`, { headers: etag ? { 'If-None-Match': etag } : {} });
        if (response.status === 304) notModified++;
        else {
          expect(response.status).toBe(200);
          etag = response.headers.get('etag') ?? undefined;
          const body = (await response.json()) as ExportView;
          polled.push(body);
          if (body.status === 'SUCCEEDED') return;
          expect(response.headers.get('retry-after')).toBe('1');
        }
        await sleep(50);
      }
    })();
    const events = await readSse(`${service!.url}/exports/${id}/events`);
    await polling;

    const streamed = events.map((event) => JSON.parse(event.data) as ExportView);
    for (const series of [streamed, polled]) {
      const done = series.map((v) => v.progress.done);
      expect(done, 'done never goes back').toEqual([...done].sort((a, b) => a - b));
      expect(series.at(-1)).toMatchObject({ status: 'SUCCEEDED', progress: { done: 500_000, total: 500_000, percent: 100, etaSeconds: 0 } });
    }
    expect(streamed.length, 'live progress, not just the end').toBeGreaterThan(5);
    expect(events.map((e) => Number(e.id))).toEqual([...events.map((e) => Number(e.id))].sort((a, b) => a - b));
    // The stream's last event is what GET answers, with the same version.
    expect(streamed.at(-1)).toEqual(polled.at(-1));
    expect(notModified + polled.length).toBeGreaterThan(0);
    const unchanged = await apiFetch(`${service!.url}/exports/${id}`, { headers: { 'If-None-Match': etag! } });
    expect(unchanged.status).toBe(304);
    expect(events.at(-1)!.id).toBe(etag!.match(/-(\d+)"$/)![1]);

    // Resumed with Last-Event-ID: nothing already seen again; one before the last gets the last.
    const last = events.at(-1)!.id!;
    expect(await readSse(`${service!.url}/exports/${id}/events`, { 'Last-Event-ID': last })).toEqual([]);
    const again = await readSse(`${service!.url}/exports/${id}/events`, { 'Last-Event-ID': String(Number(last) - 1) });
    expect(again.map((e: SseEvent) => e.id)).toEqual([last]);

    const csv = await result(service!, id);
    expect(sha256(csv)).toBe(reference.full);
    const keys = keysOf(csv);
    expect(keys.length).toBe(500_000);
    expect(new Set(keys).size).toBe(500_000);

    const response = await apiFetch(`${service!.url}/exports/${id}/result`);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="export-orders-${id}.csv"`);
    await response.body?.cancel();

    const { rows } = await db.pool.query<{ topic: string; status: string | null; client: string | null }>(
      `SELECT topic, payload->>'status' AS status, payload->>'clientId' AS client FROM exports_outbox WHERE message_key = $1 ORDER BY id`,
      [id],
    );
    // export.completed names the client that asked: only its webhook endpoints hear of it.
    expect(rows).toEqual([
      { topic: 'export.requested', status: null, client: null },
      { topic: 'export.completed', status: 'SUCCEEDED', client: testClientId },
    ]);
  }, 90_000);

  it('resumes, not restarts: 5 SIGKILLs of the working process at random points, each taken over within lease + heartbeat from its last checkpoint, the result identical', async () => {
    const id = await requestExport(alive().at(-1)!, { from, to });
    const takeovers: number[] = [];
    let lastResume = 0;
    for (let kill = 0; kill < 5; kill++) {
      // A random point: after one to four more chunks than the last resume.
      const more = 1 + Math.floor(Math.random() * 4);
      const { service, lease: before } = await holder(id, lastResume / CHUNK + more);
      await sleep(Math.random() * 150);
      const committed = (await lease(id)).done;
      const killedAt = Date.now();
      await fleet.kill(service);
      const replacement = start();
      const claim = await eventually(
        async () => (await claims(id)).find((c) => c.fence > before.fence),
        'the task taken over',
        30_000,
      );
      takeovers.push(Date.now() - killedAt);
      // Everything committed before the kill is kept; at most the chunk in flight is done again.
      expect(claim.resumedFrom).toBeGreaterThanOrEqual(committed);
      expect(claim.resumedFrom).toBeLessThanOrEqual(committed + CHUNK);
      lastResume = claim.resumedFrom;
      await replacement;
    }
    const final = await finished(alive()[0]!, id);
    expect(final.status).toBe('SUCCEEDED');
    for (const ms of takeovers) expect(ms).toBeLessThanOrEqual(LEASE_MS + HEARTBEAT_MS + 500);

    const running = alive()[0]!;
    const csv = await result(running, id);
    // The uninterrupted export equals the reference (first test); this file's filters may skip that one.
    expect(sha256(csv)).toBe(reference.full);
    expect(keysOf(csv)).toHaveLength(500_000);
    expect(new Set(keysOf(csv)).size).toBe(500_000);
    const all = await claims(id);
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(all.slice(1).every((c) => c.resumedFrom > 0 && c.resumedFrom % CHUNK === 0)).toBe(true);
    const metrics = await Promise.all(alive().map(async (s) => (await fetch(`${s.url}/metrics`)).text()));
    expect(metrics[0]).toMatch(/^exports_tasks\{state="SUCCEEDED"\} [1-9]/m);
    // The survivors resumed at least the claims made after their start.
    const resumed = metrics.map((text) => Number(/^exports_resumes_total (\d+)/m.exec(text)?.[1] ?? 0)).reduce((a, b) => a + b, 0);
    expect(resumed).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('fencing: a worker frozen (SIGSTOP) past its lease and thawed writes nothing; the result is exact', async () => {
    const id = await requestExport(alive().at(-1)!, { from, to: toSmaller });
    const { service: frozen, lease: before } = await holder(id, 2);
    frozen.child.kill('SIGSTOP');
    try {
      await eventually(async () => ((await lease(id)).fence > before.fence ? true : undefined), 'another worker took the task over', 30_000);
      const takenOverAt = (await claims(id)).find((c) => c.fence === before.fence + 1)!.resumedFrom;
      frozen.child.kill('SIGCONT');
      const final = await finished(alive().find((s) => s !== frozen)!, id);
      expect(final.status).toBe('SUCCEEDED');
      // The frozen worker's chunks all precede the takeover's checkpoint: nothing of it after.
      const { rows } = await db.pool.query<{ rows: number }>(
        'SELECT COALESCE(sum(rows), 0)::int AS rows FROM export_chunks WHERE export_id = $1 AND fence = $2',
        [id, before.fence],
      );
      expect(rows[0]!.rows).toBeLessThanOrEqual(takenOverAt);
      expect(sha256(await result(frozen, id))).toBe(reference.smaller);
      await eventually(
        async () => (frozen.output.some((line) => line.includes(id) && /refused|lease lost/.test(line)) ? true : undefined),
        'the thawed worker dropping the task',
        10_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${frozen.output.filter((line) => !line.includes('kafkajs')).slice(-12).join('\n')}`);
      });
    } finally {
      frozen.child.kill('SIGCONT');
    }
  }, 90_000);

  it('SIGTERM releases the task at its checkpoint: another process resumes it within 2 s', async () => {
    const id = await requestExport(alive().at(-1)!, { from, to: toSmaller });
    const { service, lease: before } = await holder(id, 2);
    const stoppedAt = Date.now();
    const stopping = fleet.stop(service);
    const claim = await eventually(async () => (await claims(id)).find((c) => c.fence > before.fence), 'the task resumed', 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(2000);
    expect(claim.resumedFrom).toBeGreaterThanOrEqual(before.done);
    expect((await stopping).code, service.output.filter((line) => !line.includes('kafkajs')).slice(-8).join('\n')).toBe(0);
    const replacement = await start();
    expect((await finished(replacement, id)).status).toBe('SUCCEEDED');
    expect(sha256(await result(replacement, id))).toBe(reference.smaller);
  }, 90_000);

  it('cancel through another process stops the running task within 5 s; CANCELLED, export.completed says so', async () => {
    const id = await requestExport(alive().at(-1)!, { from, to });
    const { service: worker } = await holder(id, 1);
    const other = alive().find((s) => s !== worker)!;
    const cancelledAt = Date.now();
    const response = await apiFetch(`${other.url}/exports/${id}/cancel`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ exportId: id, status: 'CANCELLED' });
    await eventually(
      async () => (worker.output.some((line) => line.includes(id) && /refused|lease lost/.test(line)) ? true : undefined),
      'the worker stopping',
      5000,
    );
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    const chunks = (await lease(id)).chunks;
    await sleep(1000);
    expect((await lease(id)).chunks, 'no chunk after the cancel').toBe(chunks);
    expect((await view(other, id)).status).toBe('CANCELLED');
    expect((await apiFetch(`${other.url}/exports/${id}/result`)).status).toBe(409);
    expect((await apiFetch(`${other.url}/exports/${id}/cancel`, { method: 'POST' })).status).toBe(200);
    const { rows } = await db.pool.query<{ status: string }>(
      `SELECT payload->>'status' AS status FROM exports_outbox WHERE message_key = $1 AND topic = 'export.completed'`,
      [id],
    );
    expect(rows).toEqual([{ status: 'CANCELLED' }]);
  }, 60_000);

  it('a failing export retries from its checkpoint, ends FAILED after its attempts with its progress kept, and POST /retry resumes it', async () => {
    const id = await requestExport(alive().at(-1)!, { from, to: toSmaller });
    await holder(id, 3);
    // The chunks' table away: every chunk's write fails (the rows are read by a statement that holds its tables meanwhile).
    await db.pool.query('ALTER TABLE export_chunks RENAME TO export_chunks_away');
    let failed: ExportView;
    try {
      failed = await finished(alive().at(-1)!, id, 60_000);
    } finally {
      await db.pool.query('ALTER TABLE export_chunks_away RENAME TO export_chunks');
    }
    expect(failed.status).toBe('FAILED');
    expect(failed.attempts).toBe(3);
    expect(failed.error?.message).toMatch(/export_chunks/);
    expect(failed.progress.done).toBeGreaterThanOrEqual(3 * CHUNK);

    const service = alive().at(-1)!;
    const retried = await apiFetch(`${service.url}/exports/${id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    expect((await finished(service, id)).status).toBe('SUCCEEDED');
    expect(sha256(await result(service, id))).toBe(reference.smaller);
    expect((await claims(id)).at(-1)!.resumedFrom).toBe(failed.progress.done);
    expect((await apiFetch(`${service.url}/exports/${id}/retry`, { method: 'POST' })).status).toBe(409);
  }, 90_000);

  it('exports revenue per hour and currency from analytics_events', async () => {
    const service = alive().at(-1)!;
    const id = await requestExport(service, { from, to: new Date(seedStart + 48 * 3_600_000).toISOString() }, 'revenue');
    expect((await finished(service, id)).status).toBe('SUCCEEDED');
    const csv = await result(service, id);
    expect(csv.split('\r\n')[0]).toBe('hour,currency,revenue_cents,events');
    expect(csv.split('\r\n').length - 2).toBe(48 * 3);
    expect(sha256(csv)).toBe(sha256(await referenceCsv(db.pool, 'revenue', from, new Date(seedStart + 48 * 3_600_000).toISOString(), testClientId)));
  }, 60_000);

  it('answers bad requests with the status and the field; honours Idempotency-Key', async () => {
    const service = alive().at(-1)!;
    const body = { kind: 'orders', from, to: toSmaller, format: 'csv' };
    const cases: Array<[unknown, number, string]> = [
      [{ ...body, kind: 'invoices' }, 400, 'kind'],
      [{ ...body, from: 'yesterday' }, 400, 'from'],
      [{ ...body, to: undefined }, 400, 'to'],
      [{ ...body, callbackUrl: 'ftp://x' }, 400, 'callbackUrl'],
      [{ ...body, extra: 1 }, 400, 'extra'],
      [{ ...body, format: 'xlsx' }, 422, 'format'],
      [{ ...body, to: from }, 422, 'to'],
      ['{"kind":', 400, 'body'],
    ];
    for (const [request, status, field] of cases) {
      const response = await post(service, request);
      expect(response.status, JSON.stringify(request)).toBe(status);
      expect(((await response.json()) as { field: string }).field).toBe(field);
    }
    const notJson = await apiFetch(`${service.url}/exports`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expect(notJson.status).toBe(415);
    expect((await apiFetch(`${service.url}/exports/not-a-uuid`)).status).toBe(400);
    expect((await apiFetch(`${service.url}/exports/00000000-0000-4000-8000-000000000000`)).status).toBe(404);

    const first = await post(service, { ...body, kind: 'revenue' }, { 'Idempotency-Key': 'exp-1' });
    const second = await post(service, { ...body, kind: 'revenue' }, { 'Idempotency-Key': 'exp-1' });
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const firstAnswer = (await first.json()) as { exportId: string };
    expect(await second.json()).toEqual(firstAnswer);
    expect((await post(service, body, { 'Idempotency-Key': 'exp-1' })).status).toBe(422);

    // Exports belong to their client: another one finds none of them, and its Idempotency-Keys are its own.
    const { exportId } = firstAnswer;
    const other = authorization((await new ClientStore(db.pool).create(`exports-other-${Date.now()}`)).key);
    for (const path of ['', '/result', '/events']) {
      expect((await apiFetch(`${service.url}/exports/${exportId}${path}`, { headers: other })).status, path).toBe(404);
    }
    expect((await apiFetch(`${service.url}/exports/${exportId}/cancel`, { method: 'POST', headers: other })).status).toBe(404);
    const theirs = await post(service, { ...body, kind: 'revenue' }, { 'Idempotency-Key': 'exp-1', ...other });
    expect(theirs.status).toBe(202);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(((await theirs.json()) as { exportId: string }).exportId).not.toBe(exportId);
    expect((await fetch(`${service.url}/exports/${exportId}`)).status).toBe(401);
  }, 30_000);

  it("an export holds only its client's rows: another client's orders and revenue in the same hours stay out of both kinds", async () => {
    const service = alive().at(-1)!;
    const other = await new ClientStore(db.pool).create(`exports-rows-${Date.now()}`);
    // The other client's orders in the same seconds as ours (ids of their own), its revenue in the same hours.
    await seedOrders(db.pool, 1000, 2, other.id, 'other-');
    await seedRevenue(db.pool, 3000, 48, other.id, 'rev-other-');
    const orders = { from, to: new Date(seedStart + 1000 * 1000 + 500).toISOString() };
    const hours = { from, to: new Date(seedStart + 48 * 3_600_000).toISOString() };
    const exportAs = async (headers: Record<string, string>, kind: string, range: { from: string; to: string }): Promise<string> => {
      const response = await post(service, { kind, format: 'csv', ...range }, headers);
      expect(response.status).toBe(202);
      const { exportId } = (await response.json()) as { exportId: string };
      const done = await eventually(
        async () => {
          const current = (await (await apiFetch(`${service.url}/exports/${exportId}`, { headers })).json()) as ExportView;
          return current.status === 'SUCCEEDED' ? current : undefined;
        },
        `export ${exportId} succeeded`,
        30_000,
      );
      expect(done.status).toBe('SUCCEEDED');
      return (await apiFetch(`${service.url}/exports/${exportId}/result`, { headers })).text();
    };
    const orderIds = async (clientId: string) =>
      new Set(
        (await db.pool.query<{ id: string }>('SELECT id::text FROM orders WHERE client_id = $1 AND created_at < $2', [clientId, orders.to])).rows.map(
          (r) => r.id,
        ),
      );
    const idsIn = (csv: string) => new Set(keysOf(csv).map((key) => key.split(',')[0]!));

    const [theirOrders, ourOrders, theirRevenue, ourRevenue] = await Promise.all([
      exportAs(authorization(other.key), 'orders', orders),
      exportAs(authorization(), 'orders', orders),
      exportAs(authorization(other.key), 'revenue', hours),
      exportAs(authorization(), 'revenue', hours),
    ]);
    // Orders: each client's export holds its own orders' lines, all of them, and no other's.
    expect(keysOf(theirOrders)).toHaveLength(2000);
    expect(idsIn(theirOrders)).toEqual(await orderIds(other.id));
    expect(keysOf(ourOrders)).toHaveLength(2000);
    expect(idsIn(ourOrders)).toEqual(await orderIds(testClientId));
    // Revenue: each client's hours count its own events only (3,000 theirs, 30,000 ours) and sum its own amounts.
    const totals = (csv: string) =>
      csv
        .split('\r\n')
        .slice(1, -1)
        .map((line) => line.split(','))
        .reduce((sum, [, , cents, events]) => ({ cents: sum.cents + Number(cents), events: sum.events + Number(events) }), { cents: 0, events: 0 });
    const seeded = async (clientId: string) =>
      (
        await db.pool.query<{ cents: number; events: number }>(
          `SELECT sum(amount_cents)::float8 AS cents, count(*)::int AS events FROM analytics_events WHERE client_id = $1 AND event_type = 'REVENUE'`,
          [clientId],
        )
      ).rows[0]!;
    expect(totals(theirRevenue)).toEqual({ cents: (await seeded(other.id)).cents, events: 3000 });
    expect(totals(ourRevenue)).toEqual({ cents: (await seeded(testClientId)).cents, events: 30_000 });
  }, 60_000);
});
