import { describe, expect, it } from 'vitest';
import type { AnalyticsEvent } from '../../../shared/contracts/schemas.js';
import { encodeBlock, RowSet, toLine } from '../../../services/batch-ingestion/rows.js';
import { makeEvents } from './sample-events.js';

const [template] = makeEvents('rows', 1);

function timeField(occurredAt: number): string {
  return toLine({ ...template!, occurredAt }).trimEnd().split('\t')[8]!;
}

describe('COPY lines', () => {
  it('write occurred_at exactly as Date#toISOString, across days, signs and the ends of its range', () => {
    const edges = [0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, -1, -86_400_001, 951_782_400_000, 8.64e15, -8.64e15];
    for (const ms of edges) expect(timeField(ms), String(ms)).toBe(new Date(ms).toISOString());
    // Random times over ±300 years, in order and not, so the day cache is hit and missed.
    let ms = 0;
    for (let i = 0; i < 50_000; i++) {
      ms = i % 2 ? ms + Math.floor(Math.random() * 5000) : Math.floor((Math.random() - 0.5) * 2e13);
      expect(timeField(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('write client_id last, \\N for an event without a client', () => {
    const clientId = '7e570000-0000-4000-8000-00000000000c';
    expect(toLine({ ...template!, clientId }).trimEnd().split('\t')[9]).toBe(clientId);
    expect(toLine({ ...template!, clientId: null }).trimEnd().split('\t')[9]).toBe('\\N');
  });

  it('reject a time Date cannot represent', () => {
    for (const ms of [8.64e15 + 1, -8.64e15 - 1, Number.NaN, 1.5]) expect(() => timeField(ms)).toThrow(RangeError);
  });

  it('keep byte offsets per row in a block, ASCII or not', () => {
    const events: AnalyticsEvent[] = makeEvents('block', 4);
    events[1]!.customerId = 'ünïcødé ✓ 😀';
    const lines = events.map(toLine);
    for (const block of [encodeBlock(lines), encodeBlock([lines[0]!, lines[2]!])]) {
      expect(block.offsets.at(-1)).toBe(block.buffer.length);
    }
    const rows = new RowSet([encodeBlock(lines)]);
    for (let i = 0; i < lines.length; i++) {
      expect(Buffer.concat(rows.chunks(i, i + 1)).toString()).toBe(lines[i]);
    }
  });
});
