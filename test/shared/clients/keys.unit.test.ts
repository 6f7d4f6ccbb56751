import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clientIdOf, hashKey, KEY_PREFIX, keyMatches, newKey } from '../../../shared/clients/keys.js';

describe('API keys', () => {
  it('are recognisable, name their client, and differ every time', () => {
    const id = randomUUID();
    const [a, b] = [newKey(id), newKey(id)];
    expect(a.startsWith(KEY_PREFIX)).toBe(true);
    expect(a).toMatch(/^opk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(clientIdOf(a)).toBe(id);
  });

  it('name no client when not of the shape', () => {
    for (const key of ['', 'opk_', 'sk_live_abc', `opk_${'g'.repeat(32)}_x`, `opk_${'a'.repeat(31)}_x`, `opk_${'a'.repeat(32)}x`]) {
      expect(clientIdOf(key), key).toBeUndefined();
    }
  });

  it('match only their own hash', () => {
    const key = newKey(randomUUID());
    expect(keyMatches(key, hashKey(key))).toBe(true);
    expect(keyMatches(`${key}x`, hashKey(key))).toBe(false);
    expect(keyMatches(key, 'not-hex')).toBe(false);
  });
});
