import { Injectable } from '@nestjs/common';
import type { FanoutJobData } from './jobs';

/** Starts a fan-out in this process; false when it cannot take one now. */
export type LocalFanoutRunner = (data: FanoutJobData) => boolean;

/**
 * Where the API hands a leading or urgent change to this process's own fan-out, without the queue
 * (apps/worker/src/fan-out/in-process-fanout.ts attaches it when the process also runs the worker
 * role). Without a worker role here, at capacity or while shutting down, {@link tryStart} says no
 * and the caller queues a fan-out job as before (JobPublisher.scheduleFanout).
 */
@Injectable()
export class LocalFanout {
  private runner?: LocalFanoutRunner;

  attach(runner: LocalFanoutRunner): void {
    this.runner = runner;
  }

  detach(runner: LocalFanoutRunner): void {
    if (this.runner === runner) this.runner = undefined;
  }

  /** Starts the topic's fan-out here (it runs on after this returns); false: queue it instead. */
  tryStart(data: FanoutJobData): boolean {
    return this.runner?.(data) ?? false;
  }
}
