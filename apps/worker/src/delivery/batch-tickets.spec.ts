import { describe, expect, it } from 'vitest';
import { BatchTickets, fitsInLine } from './batch-tickets';

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

  it('counts pushes, not batches: many one-push batches run side by side, a big batch waits for room, one over the cap runs alone', async () => {
    const sut = new BatchTickets(100);
    // Fifty one-push batches (the urgent changes of fifty small topics) all run at once.
    const small = await Promise.all(Array.from({ length: 50 }, () => sut.take('o', 1)));
    const bigRuns: string[] = [];
    const big = sut.take('o', 60).then((release) => (bigRuns.push('big'), release));
    // Arrival order holds: a later small batch waits behind the big one instead of overtaking it.
    const later = sut.take('o', 1).then((release) => (bigRuns.push('later'), release));
    await new Promise((r) => setImmediate(r));
    expect(bigRuns).toEqual([]);
    // Ten pushes done: room for the big batch (40 + 60), none yet for the next one.
    for (const release of small.slice(0, 10)) release();
    await new Promise((r) => setImmediate(r));
    expect(bigRuns).toEqual(['big']);
    small[10]!();
    await new Promise((r) => setImmediate(r));
    expect(bigRuns).toEqual(['big', 'later']);
    for (const release of small.slice(11)) release();
    (await big)();
    (await later)();
    // A batch heavier than the whole cap still runs, alone, and holds the others back meanwhile.
    const huge = await sut.take('o', 500);
    let next = false;
    const after = sut.take('o', 1).then((release) => ((next = true), release));
    await new Promise((r) => setImmediate(r));
    expect(next).toBe(false);
    huge();
    (await after)();
    expect(next).toBe(true);
  });

  it("counts a route's load as its pushes at work plus those waiting, not those given up or released", async () => {
    const sut = new BatchTickets(10, 60, 10);
    expect(sut.load('o')).toBe(0);
    const a = await sut.take('o', 6);
    const b = sut.take('o', 8);
    expect(sut.load('o')).toBe(14);
    expect(sut.load('other')).toBe(0);
    // Nothing of the route finishes for a while: the waiting batch goes ahead without a turn and no longer counts.
    (await b)();
    expect(sut.load('o')).toBe(6);
    a();
    expect(sut.load('o')).toBe(0);
  });

  it("fits a batch in a route's line: one turn always, beyond it about two seconds of the origin's answers, at most 8 turns", () => {
    // A turn of 300 pushes, 200 already in line.
    expect(fitsInLine(200, 100, 300, undefined)).toBe(true);
    expect(fitsInLine(200, 101, 300, undefined)).toBe(false); // origin's pace unknown: one turn
    expect(fitsInLine(200, 101, 300, 100)).toBe(false); // a slow origin: 200 pushes in 2 s
    expect(fitsInLine(100, 100, 300, 100)).toBe(true);
    expect(fitsInLine(1000, 200, 300, 1000)).toBe(true); // 2,000 in 2 s
    expect(fitsInLine(2000, 1, 300, 1000)).toBe(false);
    expect(fitsInLine(2300, 100, 300, 100_000)).toBe(true); // a fast origin: 8 turns at most
    expect(fitsInLine(2300, 101, 300, 100_000)).toBe(false);
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

  it('free says whether a batch would run at once: room left and nobody waiting ahead of it', async () => {
    const sut = new BatchTickets(10);
    expect(sut.free('a', 10)).toBe(true);
    const six = await sut.take('a', 6);
    expect(sut.free('a', 4)).toBe(true);
    expect(sut.free('a', 5)).toBe(false);
    const waiting = sut.take('a', 5);
    // Room for one more push, but a batch is waiting: it goes first.
    expect(sut.free('a', 1)).toBe(false);
    expect(sut.free('b', 10)).toBe(true);
    six();
    (await waiting)();
    expect(sut.free('a', 10)).toBe(true);
  });
});
