import { describe, expect, it } from 'vitest';
import { TickBatch } from './tick-batch';

describe('TickBatch', () => {
  it('runs the calls of one turn as one flush and resolves each caller after it', async () => {
    const flushes: number[][] = [];
    const batch = new TickBatch<number>(async (items) => {
      flushes.push(items);
    });
    await Promise.all([1, 2, 3].map((n) => batch.add(n)));
    await batch.add(4);
    expect(flushes).toEqual([[1, 2, 3], [4]]);
  });

  it('flushes at once when full', async () => {
    const flushes: number[][] = [];
    const batch = new TickBatch<number>(async (items) => {
      flushes.push(items);
    }, 2);
    await Promise.all([1, 2, 3].map((n) => batch.add(n)));
    expect(flushes).toEqual([[1, 2], [3]]);
  });

  it('rejects every caller of a failed flush, and later calls run again', async () => {
    let fail = true;
    const batch = new TickBatch<number>(async () => {
      if (fail) throw new Error('redis down');
    });
    const results = await Promise.allSettled([batch.add(1), batch.add(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batch.add(3)).resolves.toBeUndefined();
  });
});
