/**
 * Where the local stack (`npm start`, stack/) serves by default. Kept in the platform so the stack
 * and the tools for people (`npm run dlq`) share one copy without the tools importing stack/.
 */
export const localStackAddresses = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/order_pipeline',
  SMTP_URL: 'smtp://127.0.0.1:2525',
} as const;

/** The environment with each address left unset (or empty) filled in with the local stack's. */
export function withLocalStackAddresses(source: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  const filled = { ...source };
  for (const [name, address] of Object.entries(localStackAddresses)) filled[name] ||= address;
  return filled;
}
