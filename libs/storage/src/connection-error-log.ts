import { Logger } from '@nestjs/common';

/** At most one line per this many milliseconds while Redis stays unreachable. */
const CONNECTION_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Redis connection errors, rate-limited. While Redis is away every ioredis client (ours, and each
 * BullMQ queue and worker, which keep several) emits an `error` per reconnect attempt: dozens of
 * lines a second that bury everything else. The first error is logged at once; later ones are
 * counted and summed up in one line per interval, naming the sources and the last cause.
 */
export class ConnectionErrorLog {
  private readonly logger = new Logger('Redis');
  private pending = 0;
  private readonly sources = new Set<string>();
  private lastMessage = '';
  private timer?: NodeJS.Timeout;

  constructor(private readonly intervalMs = CONNECTION_ERROR_LOG_INTERVAL_MS) {}

  /** Records one `error` event of a Redis connection; `source` names the client (`queue fanout`, `store`). */
  report(source: string, err: Error): void {
    this.lastMessage = err.message || err.name;
    if (!this.timer) {
      this.logger.warn({ msg: 'redis connection error', source, error: this.lastMessage });
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
      return;
    }
    this.pending++;
    this.sources.add(source);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending === 0) return;
    this.logger.warn({
      msg: 'redis connection errors continue',
      count: this.pending,
      seconds: this.intervalMs / 1000,
      sources: [...this.sources].toSorted(),
      lastError: this.lastMessage,
    });
    this.pending = 0;
    this.sources.clear();
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }
}

/** The process-wide instance every Redis and BullMQ client reports to. */
export const connectionErrors = new ConnectionErrorLog();
