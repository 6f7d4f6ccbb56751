import { formatKey } from '../shared/clients/keys.js';

/**
 * The local stack's demo client key (npm start, docker compose): known to anyone who reads this
 * file, so only for a stack on your machine. DEMO_API_KEY replaces it; production sets neither and
 * makes its clients with `npm run clients -- create`.
 */
export const localDemoApiKey = formatKey('de300000-0000-4000-8000-000000000001', 'local-demo-key-not-a-secret-do-not-deploy');

export function demoApiKey(environment: Record<string, string | undefined> = process.env): string {
  return environment.DEMO_API_KEY || localDemoApiKey;
}

/** The local stack's admin token (operator endpoints): as public as the demo key. ADMIN_TOKEN replaces it. */
export const localAdminToken = 'local-admin-token-not-a-secret-do-not-deploy';

export function adminToken(environment: Record<string, string | undefined> = process.env): string {
  return environment.ADMIN_TOKEN || localAdminToken;
}
