import { WaiterQueue } from '@davpush/gateways';

/**
 * How many batch jobs of one route (a push-service origin) work at once in this process; the
 * others wait their turn, first come first served, before reading a single registration. Without
 * it a 100k fan-out to one origin has every worker slot's batch read, build and queue its pushes
 * for the origin's few connections at once: thousands of prepared pushes waiting, which costs more
 * than it gains (measured in bench/scale.ts). Enough batches stay active to keep the origin's
 * slots busy while the next batch is being prepared.
 */
export class BatchTickets {
  private readonly routes = new Map<string, { active: number; waiting: WaiterQueue }>();

  constructor(private readonly perRoute: number) {}

  /** Resolves with the release function once the batch may run. */
  async take(route: string): Promise<() => void> {
    let r = this.routes.get(route);
    if (!r) {
      r = { active: 0, waiting: new WaiterQueue() };
      this.routes.set(route, r);
    }
    const state = r;
    if (state.active < this.perRoute) state.active++;
    else await new Promise<boolean>((resolve) => state.waiting.push({ done: false, wake: resolve }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = state.waiting.shift();
      // The ticket passes straight to the next batch (active unchanged), or is given back.
      if (next) next.wake(true);
      else if (--state.active === 0) this.routes.delete(route);
    };
  }
}
