import { describe, expect, it } from 'vitest';
import { topics } from '../../../shared/contracts/topics.js';
import { valueSubject } from '../../../shared/kafka/topology.js';
import { testConfig } from '../../support/stack.js';

async function registerVersion(subject: string, schema: unknown): Promise<Response> {
  return fetch(`${testConfig().schemaRegistryUrl}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
}

describe('schema registry compatibility', () => {
  const subject = valueSubject(topics.orderCreated);
  const current = topics.orderCreated.schema.definition as { fields: unknown[] };

  it('refuses a change that breaks BACKWARD compatibility', async () => {
    // A new field without a default: consumers on the new schema cannot read old events.
    const breaking = { ...current, fields: [...current.fields, { name: 'loyaltyTier', type: 'string' }] };
    const response = await registerVersion(subject, breaking);
    expect(response.status).toBe(409);
  });

  it('accepts a BACKWARD-compatible change (a new field with a default)', async () => {
    const compatible = {
      ...current,
      fields: [...current.fields, { name: 'giftNote', type: ['null', 'string'], default: null }],
    };
    // Checked, not registered: the shared subject must keep the code's schema as its latest.
    const response = await fetch(`${testConfig().schemaRegistryUrl}/compatibility/subjects/${subject}/versions/latest`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(compatible) }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ is_compatible: true });
  });
});
