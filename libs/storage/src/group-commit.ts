/**
 * Group commit: calls made while the previous write is in flight (and those of the same event-loop
 * turn) are written together as one, so many concurrent deliveries settle in a few Redis script
 * calls rather than one each; the busier the process, the larger each write. Every caller still
 * awaits its own write: nothing is reported done before it is durable.
 */
export class GroupCommit<T> {
  private items: T[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;
  private writing = false;

  /** `maxItems`: at most this many items per write; the rest go in the next. */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxItems = 256,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.items.length === 0) return;
    this.scheduled = true;
    // setImmediate, not nextTick: answers that arrived in the same poll phase join the write.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const items = this.items.splice(0, this.maxItems);
    const waiters = this.waiters.splice(0, this.maxItems);
    this.writing = true;
    const done = () => {
      this.writing = false;
      this.schedule();
    };
    this.write(items).then(
      () => {
        done();
        waiters.forEach((w) => w.resolve());
      },
      (err: unknown) => {
        done();
        waiters.forEach((w) => w.reject(err));
      },
    );
  }
}
