/**
 * The API client the tests call the order, exports and webhooks APIs as. ServiceFleet starts every
 * service with DEMO_API_KEY = testApiKey, so the client exists once a service is up; apiFetch is
 * fetch with its key, the one place tests add the Authorization header.
 */
import { clientIdOf, formatKey } from '../../shared/clients/keys.js';

/** Local tests only: a fixed key, as the local stack's demo key is. */
export const testApiKey = formatKey('7e570000-0000-4000-8000-000000000001', 'test-only-key-never-used-outside-the-test-stack');

/** The test client's id: the owner of what the tests create, and the client of the events they publish. */
export const testClientId = clientIdOf(testApiKey)!;

export const authorization = (key: string = testApiKey): Record<string, string> => ({ Authorization: `Bearer ${key}` });

/** fetch as the test client; a request that names its own Authorization keeps it. */
export function apiFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${testApiKey}`);
  return fetch(url, { ...init, headers });
}

/** The operator endpoints' token in the tests' services (ADMIN_TOKEN). */
export const testAdminToken = 'test-only-admin-token-never-used-outside-the-test-stack';
