import { describe, expect, it, vi } from 'vitest';
import { OriginGate, WaiterQueue } from './origin-gate';

const opts = { maxInFlight: 2, maxWaiting: 1, maxWaitMs: 50, failureThreshold: 3, baseOpenMs: 1000, maxOpenMs: 4000 };

describe('OriginGate', () => {
  it('caps requests in flight per origin, not across origins', () => {
    const sut = new OriginGate(opts, () => 0);
    const a = sut.admit('https://a', 0);
    sut.admit('https://a', 0);
    expect(sut.admit('https://a', 0)).toMatchObject({ admitted: false, reason: 'origin busy' });
    expect(sut.admit('https://b', 0).admitted).toBe(true);
    if (a.admitted) a.release('neutral');
    expect(sut.admit('https://a', 0).admitted).toBe(true);
  });

  it("knows an origin's pace from its answers: its slots over its moving mean answer time", () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    try {
      const sut = new OriginGate({ ...opts, maxInFlight: 64 }, () => 0);
      expect(sut.answersPerSecond('https://a')).toBeUndefined();
      const answerIn = (ms: number) => {
        const g = sut.admit('https://a');
        vi.setSystemTime(Date.now() + ms);
        if (g.admitted) g.release('success');
      };
      answerIn(25);
      expect(sut.answersPerSecond('https://a')).toBe(2560);
      // A slow patch moves it down step by step, not at once.
      answerIn(1025);
      expect(sut.answersPerSecond('https://a')).toBeCloseTo(64_000 / 225);
      for (let i = 0; i < 30; i++) answerIn(1000);
      expect(sut.answersPerSecond('https://a')).toBeLessThan(70);
      expect(sut.answersPerSecond('https://b')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('is not extended by requests that were in flight when it opened', () => {
    const sut = new OriginGate({ ...opts, maxInFlight: 10 }, () => 0);
    const inFlight = Array.from({ length: 6 }, () => sut.admit('https://a', 0));
    // Three failures open it for baseOpenMs; three more that were already in flight report late.
    for (const g of inFlight) if (g.admitted) g.release('failure');
    const now = Date.now();
    const denied = sut.admit('https://a', now);
    expect(denied).toMatchObject({ admitted: false, reason: 'circuit open' });
    expect((denied as { retryAt: number }).retryAt - now).toBeLessThanOrEqual(opts.baseOpenMs + 50);
  });

  it('opens after consecutive failures, lets one probe through later, closes on success', () => {
    const sut = new OriginGate(opts, () => 0);
    const fail = (now: number) => {
      const g = sut.admit('https://a', now);
      if (!g.admitted) throw new Error('not admitted');
      g.release('failure');
    };
    fail(0);
    fail(0);
    fail(0);
    const open = sut.admit('https://a', Date.now());
    expect(open).toMatchObject({ admitted: false, reason: 'circuit open' });
    expect(sut.openCircuits()).toEqual(['https://a']);
    const later = Date.now() + 1500;
    const probe = sut.admit('https://a', later);
    expect(probe.admitted).toBe(true);
    expect(sut.admit('https://a', later)).toMatchObject({ admitted: false, reason: 'circuit half-open' });
    if (probe.admitted) probe.release('success');
    expect(sut.admit('https://a', later).admitted).toBe(true);
  });
});

describe('OriginGate.acquire', () => {
  it('lets a delivery wait briefly for a slot of a busy origin, and bounces the rest', async () => {
    const sut = new OriginGate(opts, () => 0);
    const a = await sut.acquire('https://a');
    await sut.acquire('https://a');
    const waiting = sut.acquire('https://a');
    expect(await sut.acquire('https://a')).toMatchObject({ admitted: false, reason: 'origin busy' });
    if (a.admitted) a.release('success');
    expect((await waiting).admitted).toBe(true);
    expect(await sut.acquire('https://a')).toMatchObject({ admitted: false, reason: 'origin busy' });
  });

  it('lets any number wait for an origin that keeps answering, but bounds waiters of a silent one', async () => {
    const sut = new OriginGate({ ...opts, maxInFlight: 1, maxWaiting: 1, maxWaitMs: 200 }, () => 0);
    const first = await sut.acquire('https://a');
    if (first.admitted) first.release('success'); // it answered just now
    const holder = await sut.acquire('https://a');
    const waiters = [sut.acquire('https://a'), sut.acquire('https://a'), sut.acquire('https://a')];
    if (holder.admitted) holder.release('success');
    const firstWaiter = await waiters[0]!;
    expect(firstWaiter.admitted).toBe(true);
    if (firstWaiter.admitted) firstWaiter.release('success');
    expect((await waiters[1]!).admitted).toBe(true);

    const silent = new OriginGate({ ...opts, maxInFlight: 1, maxWaiting: 1, maxWaitMs: 50 }, () => 0);
    await silent.acquire('https://h'); // never answers
    const queued = silent.acquire('https://h');
    expect(await silent.acquire('https://h')).toMatchObject({ admitted: false, reason: 'origin busy' });
    expect(await queued).toMatchObject({ admitted: false, reason: 'origin busy' });
  });

  it('bounces waiters when the circuit opens', async () => {
    const sut = new OriginGate({ ...opts, failureThreshold: 1 }, () => 0);
    const a = await sut.acquire('https://a');
    await sut.acquire('https://a');
    const waiting = sut.acquire('https://a');
    if (a.admitted) a.release('failure');
    expect(await waiting).toMatchObject({ admitted: false, reason: 'circuit open' });
  });

  it('keeps deliveries waiting past maxWaitMs while the origin keeps answering (backpressure, no bounce)', async () => {
    const sut = new OriginGate({ ...opts, maxInFlight: 1, maxWaiting: 1, maxWaitMs: 30 }, () => 0);
    const first = await sut.acquire('https://a');
    if (first.admitted) first.release('success'); // it answers
    let holder = await sut.acquire('https://a');
    const waiters = Array.from({ length: 5 }, () => sut.acquire('https://a'));
    const results: boolean[] = [];
    for (const w of waiters) {
      // Each answer comes after more than maxWaitMs: the queued ones must still be waiting.
      await new Promise((r) => setTimeout(r, 40));
      if (holder.admitted) holder.release('success');
      holder = await w;
      results.push(holder.admitted);
    }
    expect(results).toEqual([true, true, true, true, true]);
  });
});

describe('WaiterQueue', () => {
  it('serves first come first, skips given-up waiters, and stays linear with thousands of them', () => {
    const sut = new WaiterQueue();
    const woken: number[] = [];
    const all = Array.from({ length: 20_000 }, (_, i) => ({ done: false, wake: () => void woken.push(i) }));
    for (const w of all) sut.push(w);
    for (let i = 0; i < all.length; i += 2) sut.cancel(all[i]!);
    expect(sut.size).toBe(10_000);
    for (let w = sut.shift(); w; w = sut.shift()) w.wake(true);
    expect(woken).toHaveLength(10_000);
    expect(woken.slice(0, 3)).toEqual([1, 3, 5]);
    expect(sut.size).toBe(0);
  });
});

describe('OriginGate.answering', () => {
  it('holds for an origin that answers, busy or not; not for one that holds requests unanswered or is failing', () => {
    const sut = new OriginGate(opts, () => 0);
    expect(sut.answering('https://a')).toBe(true);
    const first = sut.admit('https://a');
    // Nothing has come back from it yet: it may be hanging.
    expect(sut.answering('https://a')).toBe(false);
    if (first.admitted) first.release('success');
    expect(sut.answering('https://a')).toBe(true);
    // Answering, with a request in flight or every slot taken: still answering (busy, not hanging).
    const one = sut.admit('https://a');
    expect(sut.answering('https://a')).toBe(true);
    const two = sut.admit('https://a');
    expect(sut.answering('https://a')).toBe(true);
    for (const g of [one, two]) if (g.admitted) g.release('failure');
    // Silent for longer than the answering window with a request in flight: not answering.
    const held = sut.admit('https://a');
    expect(sut.answering('https://a', Date.now() + 600)).toBe(false);
    if (held.admitted) held.release('failure');
    // Three failures in a row opened the circuit.
    expect(sut.answering('https://a')).toBe(false);
    expect(sut.answering('https://b')).toBe(true);
  });
});

describe('OriginGate.turnsAway', () => {
  it('holds while every push would be turned away without a slot: circuit open, or half-open with its probe out', async () => {
    const sut = new OriginGate(opts, () => 0);
    expect(sut.turnsAway('https://a')).toBe(false);
    for (let i = 0; i < opts.failureThreshold; i++) {
      const g = sut.admit('https://a');
      if (g.admitted) g.release('failure');
    }
    expect(sut.turnsAway('https://a')).toBe(true);
    await expect(sut.acquire('https://a')).resolves.toMatchObject({ admitted: false, reason: 'circuit open' });
    expect(sut.turnsAway('https://b')).toBe(false);
    // Past the open period: half-open, the first push goes as the probe; while it is out, the rest are turned away.
    const later = Date.now() + opts.maxOpenMs + 1;
    expect(sut.turnsAway('https://a', later)).toBe(false);
    const probe = sut.admit('https://a', later);
    expect(probe.admitted).toBe(true);
    expect(sut.turnsAway('https://a', later)).toBe(true);
    expect(sut.admit('https://a', later)).toMatchObject({ admitted: false, reason: 'circuit half-open' });
    if (probe.admitted) probe.release('success');
    expect(sut.turnsAway('https://a', later)).toBe(false);
  });

  it('holds for a hanging origin once its slots are taken and its waiting room is full, not for a busy one that answers', async () => {
    const sut = new OriginGate(opts, () => 0);
    const held = [sut.admit('https://a'), sut.admit('https://a')];
    // Every slot taken, nothing answered yet: one may still wait.
    expect(sut.turnsAway('https://a')).toBe(false);
    const waiting = sut.acquire('https://a');
    expect(sut.turnsAway('https://a')).toBe(true);
    await expect(sut.acquire('https://a')).resolves.toMatchObject({ admitted: false, reason: 'origin busy' });
    // An answer hands the waiter the slot: busy, but answering, so nobody is turned away unseen.
    if (held[0]!.admitted) held[0]!.release('success');
    const woken = await waiting;
    expect(woken.admitted).toBe(true);
    expect(sut.turnsAway('https://a')).toBe(false);
    const next = sut.acquire('https://a');
    expect(sut.turnsAway('https://a')).toBe(false);
    for (const g of [held[1]!, woken]) if (g.admitted) g.release('success');
    await expect(next).resolves.toMatchObject({ admitted: true });
  });
});
