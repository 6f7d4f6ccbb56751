import { Counter } from 'prom-client';
import { metrics } from '../../shared/metrics.js';

export const ordersAccepted = new Counter({
  name: 'order_api_orders_accepted_total',
  help: 'Orders accepted (202) and written with their event',
  registers: [metrics],
});

export const requestsRefused = new Counter({
  name: 'order_api_requests_refused_total',
  help: 'Requests answered with an error, by status code',
  labelNames: ['status'] as const,
  registers: [metrics],
});
