import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '@davpush/config';

/**
 * Whether this process is on its way out. `/health/ready` answers 503 `shutting_down` from the
 * moment it flips, while the HTTP server and the BullMQ workers still run: Nest closes the HTTP
 * server after `beforeApplicationShutdown` and the workers after that (`onApplicationShutdown`),
 * so a load balancer sees "not ready" before the process stops taking work.
 *
 * `begin()` is idempotent and cheap: the SIGTERM handler may call it the instant the signal
 * arrives; otherwise Nest's shutdown sequence calls it here. DAVPUSH_SHUTDOWN_DRAIN_MS then keeps
 * everything running a little longer, so probes that run every few seconds see the 503.
 */
@Injectable()
export class ShutdownState implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ShutdownState.name);
  private startedAt?: number;

  constructor(private readonly config: AppConfig) {}

  get shuttingDown(): boolean {
    return this.startedAt !== undefined;
  }

  get since(): number | undefined {
    return this.startedAt;
  }

  begin(now = Date.now()): void {
    this.startedAt ??= now;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.begin();
    // When begin() came from the signal handler, only what is left of the delay remains.
    const remaining = this.startedAt! + this.config.operations.shutdownDrainMs - Date.now();
    if (remaining <= 0) return;
    this.logger.log({ msg: 'readiness reports shutting_down; draining before close', drainMs: remaining });
    await sleep(remaining);
  }
}
