/**
 * A value computed at most once per `ttlMs`, with concurrent callers sharing the one computation in
 * flight. Scrapes, readiness probes and the admin API all read queue and registration figures from
 * Redis; this keeps a scrape storm (or many probes) from turning into as many Redis round trips.
 * A failed computation is not cached, so the next caller tries again.
 */
export class Cached<T> {
  private value?: { at: number; data: T };
  private inFlight?: Promise<T>;

  constructor(
    private readonly ttlMs: number,
    private readonly compute: () => Promise<T>,
    private readonly now: () => number = Date.now,
  ) {}

  get(maxAgeMs = this.ttlMs): Promise<T> {
    const v = this.value;
    if (v && this.now() - v.at < maxAgeMs) return Promise.resolve(v.data);
    this.inFlight ??= this.compute()
      .then((data) => {
        this.value = { at: this.now(), data };
        return data;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}

/** Rejects when `promise` has not settled within `ms` (BullMQ connections retry forever while Redis is away). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
