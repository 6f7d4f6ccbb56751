import { z } from 'zod';
import { loadConfig, smtpVariables, variable } from '../../shared/config.js';
import { outboxServiceVariables } from '../../shared/kit/variables.js';

export const configSpec = {
  ...outboxServiceVariables,
  ...smtpVariables,
  mailFrom: variable('MAIL_FROM', z.string().min(3).default('Order Pipeline <orders@order-pipeline.local>')),
};

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
