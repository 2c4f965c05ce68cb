import { describe, expect, it } from 'vitest';
import { Cached, within } from './cached';

describe('Cached', () => {
  it('computes once for concurrent callers and reuses the value within the TTL', async () => {
    let now = 0;
    let calls = 0;
    const sut = new Cached(
      1000,
      async () => ++calls,
      () => now,
    );
    expect(await Promise.all([sut.get(), sut.get(), sut.get()])).toEqual([1, 1, 1]);
    now = 999;
    expect(await sut.get()).toBe(1);
    now = 1000;
    expect(await sut.get()).toBe(2);
    expect(calls).toBe(2);
  });

  it('honours a tighter maxAge for one caller', async () => {
    let now = 0;
    let calls = 0;
    const sut = new Cached(
      10_000,
      async () => ++calls,
      () => now,
    );
    await sut.get();
    now = 600;
    expect(await sut.get(500)).toBe(2);
    expect(await sut.get()).toBe(2);
  });

  it('does not cache a failure', async () => {
    let fail = true;
    const sut = new Cached(60_000, async () => {
      if (fail) throw new Error('redis down');
      return 'ok';
    });
    await expect(sut.get()).rejects.toThrow('redis down');
    fail = false;
    expect(await sut.get()).toBe('ok');
  });
});

describe('within', () => {
  it('rejects naming what did not answer', async () => {
    await expect(within(new Promise(() => undefined), 20, 'queue fanout')).rejects.toThrow(
      'queue fanout did not answer within 20 ms',
    );
  });

  it('passes a timely value through', async () => {
    expect(await within(Promise.resolve(7), 1000, 'x')).toBe(7);
  });
});
