/**
 * The services `npm start` runs, each as its own process. Ports: a service with an HTTP API listens
 * on `port` for its first instance; further instances take the next ports (`--scale name=n`).
 */
export interface ServiceDefinition {
  name: string;
  /** The entry file, relative to the repository root. */
  entry: string;
  /** First instance's HTTP port; instances i > 0 use port + i. */
  port: number;
  /** The environment variable the service reads its port from. */
  portVariable: string;
  /** Variables of its own for local runs. */
  env?: Readonly<Record<string, string>>;
  /**
   * V8's heap limits, MB: the old generation (`--max-old-space-size`) and each semi-space of the
   * young one (`--max-semi-space-size`); see serviceNodeOptions.
   * @defaultValue defaultHeap
   */
  heap?: HeapLimits;
}

export interface HeapLimits {
  oldSpaceMb: number;
  semiSpaceMb: number;
}

/** A service's memory budget unless it declares its own: near 150 MB resident under load. */
export const defaultHeap: HeapLimits = { oldSpaceMb: 96, semiSpaceMb: 8 };

export const services: readonly ServiceDefinition[] = [
  { name: 'order', entry: 'services/order/main.ts', port: 3000, portVariable: 'HTTP_PORT' },
  // Ten ports apart, so `--scale inventory=3` (3010-3012) never reaches the next service's port.
  { name: 'inventory', entry: 'services/inventory/main.ts', port: 3010, portVariable: 'HTTP_PORT' },
  { name: 'email', entry: 'services/email/main.ts', port: 3020, portVariable: 'HTTP_PORT' },
  { name: 'analytics', entry: 'services/analytics/main.ts', port: 3030, portVariable: 'HTTP_PORT' },
  // The bulk writer keeps each event from its fetch until its batch's COPY commits, about half a
  // second: larger semi-spaces let more of them die young instead of being copied to the old
  // generation (README, "Batch ingestion"); the old one holds its uncommitted batches.
  {
    name: 'batch-ingestion',
    entry: 'services/batch-ingestion/main.ts',
    port: 3040,
    portVariable: 'HTTP_PORT',
    heap: { oldSpaceMb: 384, semiSpaceMb: 32 },
  },
  // Any number of dispatchers share the jobs table: `--scale scheduler=3`.
  { name: 'scheduler', entry: 'services/scheduler/main.ts', port: 3050, portVariable: 'HTTP_PORT' },
  // The exports API and its task workers: `--scale exports=3` runs three, any of which serves any export.
  { name: 'exports', entry: 'services/exports/main.ts', port: 3060, portVariable: 'HTTP_PORT' },
  // Locally, webhook receivers run on this machine: loopback is allowed (the SSRF guard refuses it otherwise).
  { name: 'webhooks', entry: 'services/webhooks/main.ts', port: 3070, portVariable: 'HTTP_PORT', env: { WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128' } },
  // The payment provider is a third party: locally its simulator (services/payment-provider, API in
  // the README), which the payments service calls over HTTP like any provider.
  { name: 'payment-provider', entry: 'services/payment-provider/main.ts', port: 4010, portVariable: 'HTTP_PORT' },
  { name: 'payments', entry: 'services/payments/main.ts', port: 3090, portVariable: 'HTTP_PORT', env: { PAYMENT_PROVIDER_URL: 'http://127.0.0.1:4010' } },
  // The operations page (3060 is the exports API's). One instance: its poller serves every viewer.
  {
    name: 'dashboard',
    entry: 'services/dashboard/main.ts',
    port: 3080,
    portVariable: 'HTTP_PORT',
    env: { DASHBOARD_BATCH_METRICS_URL: 'http://127.0.0.1:3040/metrics' },
  },
];

/**
 * NODE_OPTIONS for a service's process: its memory budget. Left alone, V8 sizes the heap for the
 * machine and grows it with the allocation rate long before the live data needs the room; these
 * limits hold a service near the 150 MB it is given (README, "Memory"). Past its limit a service
 * exits with an out-of-memory error and is restarted; an event it had not committed comes again.
 */
export function serviceNodeOptions(name: string): string {
  const heap = services.find((service) => service.name === name)?.heap ?? defaultHeap;
  return `--max-semi-space-size=${heap.semiSpaceMb} --max-old-space-size=${heap.oldSpaceMb}`;
}
