/**
 * Collects calls made in the same turn of the event loop and runs them as one: many concurrent
 * deliveries settle in one Redis script call instead of one call each. Every caller still awaits
 * its own write, so nothing is reported done before it is durable.
 */
export class TickBatch<T> {
  private items: T[] = [];
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly flushMany: (items: T[]) => Promise<void>,
    private readonly maxItems = 256,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.maxItems) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not nextTick: answers that arrived in the same poll phase join the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.items.length === 0) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.flushMany(items).then(
      () => waiters.forEach((w) => w.resolve()),
      (err: unknown) => waiters.forEach((w) => w.reject(err)),
    );
  }
}
