import { WaiterQueue } from '@davpush/gateways';

interface RouteState {
  active: number;
  waiting: WaiterQueue;
  /** When a batch of this route last finished (or the route was first seen). */
  lastReleaseAt: number;
}

/**
 * How many batch jobs of one route (a push-service origin) work at once in this process; the
 * others wait their turn, first come first served, before reading a single registration. Without
 * it a 100k fan-out to one origin has every worker slot's batch read, build and queue its pushes
 * for the origin's few connections at once: thousands of prepared pushes waiting, which costs more
 * than it gains (measured in bench/scale.ts). Enough batches stay active to keep the origin's
 * slots busy while the next batch is being prepared.
 *
 * Turns only make sense while batches finish: when none of a route has finished for `stuckMs`
 * (a silent origin, whose pushes the origin gate bounces after a short wait), waiting batches go
 * ahead without a turn, so they cannot sit on worker slots that healthy origins need.
 */
export class BatchTickets {
  private readonly routes = new Map<string, RouteState>();

  constructor(
    private readonly perRoute: number,
    private readonly stuckMs = 2000,
    private readonly checkEveryMs = 500,
  ) {}

  /** Resolves with the release function once the batch may run. */
  async take(route: string): Promise<() => void> {
    let r = this.routes.get(route);
    if (!r) {
      r = { active: 0, waiting: new WaiterQueue(), lastReleaseAt: Date.now() };
      this.routes.set(route, r);
    }
    const state = r;
    if (state.active < this.perRoute) {
      state.active++;
    } else {
      const turn = await new Promise<boolean>((resolve) => {
        const waiter = {
          done: false,
          wake: (granted: boolean) => {
            clearTimeout(timer);
            resolve(granted);
          },
        };
        const check = () => {
          if (waiter.done) return;
          if (Date.now() - state.lastReleaseAt < this.stuckMs) {
            timer = setTimeout(check, this.checkEveryMs);
            return;
          }
          state.waiting.cancel(waiter);
          resolve(false);
        };
        let timer = setTimeout(check, this.checkEveryMs);
        state.waiting.push(waiter);
      });
      // Gone ahead without a turn: nothing to give back.
      if (!turn) return () => undefined;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.lastReleaseAt = Date.now();
      const next = state.waiting.shift();
      // The turn passes straight to the next batch (active unchanged), or is given back.
      if (next) next.wake(true);
      else if (--state.active === 0 && state.waiting.size === 0) this.routes.delete(route);
    };
  }
}
