import { describe, expect, it } from 'vitest';
import { BatchTickets } from './batch-tickets';

describe('BatchTickets', () => {
  it('lets a fixed number of batches of one route run, the rest in arrival order, other routes untouched', async () => {
    const sut = new BatchTickets(2);
    const order: string[] = [];
    const a1 = await sut.take('a');
    const a2 = await sut.take('a');
    const a3 = sut.take('a').then((release) => (order.push('a3'), release));
    const a4 = sut.take('a').then((release) => (order.push('a4'), release));
    (await sut.take('b'))();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    a1();
    a1(); // twice is once
    const r3 = await a3;
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['a3']);
    a2();
    (await a4)();
    r3();
    expect(order).toEqual(['a3', 'a4']);
    // All given back: a new batch runs at once.
    (await sut.take('a'))();
  });

  it('lets waiting batches go ahead without a turn when none of the route has finished for a while (a silent origin)', async () => {
    const sut = new BatchTickets(1, 60, 10);
    const stuck = await sut.take('silent');
    const started = Date.now();
    const release = await sut.take('silent');
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    release();
    stuck();
    // Finished batches count again: the next one runs at once.
    (await sut.take('silent'))();
  });
});
