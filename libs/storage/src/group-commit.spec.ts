import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('writes the calls of one turn as one and resolves each caller after it', async () => {
    const writes: number[][] = [];
    const batch = new GroupCommit<number>(async (items) => {
      writes.push(items);
    });
    await Promise.all([1, 2, 3].map((n) => batch.add(n)));
    await batch.add(4);
    expect(writes).toEqual([[1, 2, 3], [4]]);
  });

  it('collects what comes while a write is in flight into the next write', async () => {
    const writes: number[][] = [];
    let finish!: () => void;
    const batch = new GroupCommit<number>(async (items) => {
      writes.push(items);
      if (writes.length === 1) await new Promise<void>((r) => (finish = r));
    });
    const first = batch.add(1);
    await new Promise((r) => setImmediate(r));
    const later = [2, 3, 4].map((n) => batch.add(n));
    await new Promise((r) => setTimeout(r, 5));
    expect(writes).toEqual([[1]]);
    finish();
    await Promise.all([first, ...later]);
    expect(writes).toEqual([[1], [2, 3, 4]]);
  });

  it('writes at most maxItems at once, the rest next', async () => {
    const writes: number[][] = [];
    const batch = new GroupCommit<number>(async (items) => {
      writes.push(items);
    }, 2);
    await Promise.all([1, 2, 3].map((n) => batch.add(n)));
    expect(writes).toEqual([[1, 2], [3]]);
  });

  it('rejects every caller of a failed write, and later calls are written again', async () => {
    let fail = true;
    const batch = new GroupCommit<number>(async () => {
      if (fail) throw new Error('redis down');
    });
    const results = await Promise.allSettled([batch.add(1), batch.add(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batch.add(3)).resolves.toBeUndefined();
  });

  it('fails only the items the write reports failed, and a synchronous throw fails its items without stopping later writes', async () => {
    const batch = new GroupCommit<number>(async (items) =>
      items.map((n) => (n % 2 ? new Error(`odd ${n}`) : undefined)),
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => batch.add(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    let first = true;
    const throwing = new GroupCommit<number>((items) => {
      if (first) {
        first = false;
        throw new Error('sync');
      }
      return Promise.resolve(items.map(() => undefined));
    });
    await expect(throwing.add(1)).rejects.toThrow('sync');
    await expect(throwing.add(2)).resolves.toBeUndefined();
  });
});
