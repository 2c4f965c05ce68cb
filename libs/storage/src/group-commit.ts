/**
 * Group commit: calls made while the previous write is in flight (and those of the same event-loop
 * turn) are written together as one, so many concurrent deliveries settle in a few Redis script
 * calls rather than one each; the busier the process, the larger each write. Every caller still
 * awaits its own item: nothing is reported done before it is durable, and a write that stored
 * some items and not others (one of several Redis calls failed) says so per item.
 */
export class GroupCommit<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;
  private writing = false;

  /**
   * `write` stores the items and resolves with each item's error (undefined: stored) in their order,
   * or rejects if none was stored. `maxItems`: at most this many items per write; the rest go in the next.
   * `write` must settle: every item added while it is in flight waits for it (the stores' Redis client
   * fails each command after DAVPUSH_REDIS_COMMAND_TIMEOUT_MS, libs/storage/src/redis-connection.ts).
   */
  constructor(
    private readonly write: (items: T[]) => Promise<readonly unknown[] | void>,
    private readonly maxItems = 256,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.pending.length === 0) return;
    this.scheduled = true;
    // setImmediate, not nextTick: answers that arrived in the same poll phase join the write.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const waiters = this.pending.splice(0, this.maxItems);
    this.writing = true;
    const done = () => {
      this.writing = false;
      this.schedule();
    };
    // A synchronous throw is a rejection like any other, never a stuck `writing`.
    Promise.resolve()
      .then(() => this.write(waiters.map((w) => w.item)))
      .then(
        (errors) => {
          done();
          waiters.forEach((w, i) => {
            const err = errors?.[i];
            if (err === undefined) w.resolve();
            else w.reject(err);
          });
        },
        (err: unknown) => {
          done();
          waiters.forEach((w) => w.reject(err));
        },
      );
  }
}
