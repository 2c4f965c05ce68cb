/** A line holds at most this many turns' worth of pushes (BatchTickets' cap per route), however fast its origin. */
export const LINE_TURNS = 8;

/** Beyond one turn, a line holds only what its origin answers in this long. */
export const LINE_WAIT_MS = 2000;

/**
 * Whether `pushes` more may join a route's line (its pushes at work or waiting for their turn,
 * `load`, of `turn` pushes at a time): within one turn always; beyond it, only as many as the
 * origin answers in LINE_WAIT_MS (`perSecond`, OriginGate.answersPerSecond; unknown: one turn)
 * and never more than LINE_TURNS turns. So the line of a fast origin holds about a second of its
 * work, and a slow origin that still answers holds few pushes, never minutes of them.
 */
export function fitsInLine(load: number, pushes: number, turn: number, perSecond: number | undefined): boolean {
  const after = load + pushes;
  if (after <= turn) return true;
  if (perSecond === undefined) return false;
  return after <= Math.min(LINE_TURNS * turn, (perSecond * LINE_WAIT_MS) / 1000);
}

interface Waiter {
  /** Pushes the batch carries (its share of the route's tickets). */
  weight: number;
  done: boolean;
  wake: (granted: boolean) => void;
}

interface RouteState {
  /** Pushes of this route's running batches. */
  active: number;
  /** Batches waiting for their turn, first come first served (given-up ones marked `done`). */
  waiting: Waiter[];
  /** When a batch of this route last finished (or the route was first seen). */
  lastReleaseAt: number;
}

/**
 * How many pushes of one route (a push-service origin) batch jobs work on at once in this process;
 * the other batches wait their turn, first come first served, before reading a single registration.
 * Without it a 100k fan-out to one origin has every worker slot's batch read, build and queue its
 * pushes for the origin's few connections at once: thousands of prepared pushes waiting, which costs
 * more than it gains (measured in bench/scale.ts). Enough pushes stay active to keep the origin's
 * slots busy while the next batch is being prepared.
 *
 * A batch takes as many tickets as it carries pushes (`weight`), so the cap is on pushes, not on
 * batches: the one-push batches of many small topics (an urgent change each) run side by side
 * instead of queueing behind each other for a handful of batch-sized turns. A batch heavier than
 * the whole cap still runs, alone.
 *
 * Turns only make sense while batches finish: when none of a route has finished for `stuckMs`
 * (a silent origin, whose pushes the origin gate bounces after a short wait), waiting batches go
 * ahead without a turn, so they cannot sit on worker slots that healthy origins need.
 */
export class BatchTickets {
  private readonly routes = new Map<string, RouteState>();

  /** `perRoute`: pushes at work per route at once (a batch weighs one push per registration). */
  constructor(
    private readonly perRoute: number,
    private readonly stuckMs = 2000,
    private readonly checkEveryMs = 500,
  ) {}

  /** Resolves with the release function once the batch of `weight` pushes (default 1) may run. */
  async take(route: string, weight = 1): Promise<() => void> {
    let r = this.routes.get(route);
    if (!r) {
      r = { active: 0, waiting: [], lastReleaseAt: Date.now() };
      this.routes.set(route, r);
    }
    const state = r;
    const w = Math.max(1, weight);
    while (state.waiting[0]?.done) state.waiting.shift();
    if (state.waiting.length === 0 && this.fits(state, w)) {
      state.active += w;
    } else {
      const turn = await new Promise<boolean>((resolve) => {
        const waiter: Waiter = {
          weight: w,
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
          waiter.done = true;
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
      state.active -= w;
      this.wakeWaiting(state);
      if (state.active === 0 && state.waiting.length === 0) this.routes.delete(route);
    };
  }

  /** Pushes of the route at work or waiting for their turn (0 for a route with neither). */
  load(route: string): number {
    const state = this.routes.get(route);
    if (!state) return 0;
    let pushes = state.active;
    for (const w of state.waiting) if (!w.done) pushes += w.weight;
    return pushes;
  }

  /** Whether a batch of `weight` pushes would get its turn at once (nobody waiting, room left). */
  free(route: string, weight = 1): boolean {
    const state = this.routes.get(route);
    return !state || (!state.waiting.some((w) => !w.done) && this.fits(state, Math.max(1, weight)));
  }

  /** A batch fits while the route's pushes stay within the cap; one too heavy for it runs alone. */
  private fits(state: RouteState, weight: number): boolean {
    return state.active === 0 || state.active + weight <= this.perRoute;
  }

  /** Turns pass to the waiting batches in arrival order, as long as the next one fits. */
  private wakeWaiting(state: RouteState): void {
    while (state.waiting.length > 0) {
      const next = state.waiting[0]!;
      if (next.done) {
        state.waiting.shift();
        continue;
      }
      if (!this.fits(state, next.weight)) return;
      state.waiting.shift();
      next.done = true;
      state.active += next.weight;
      next.wake(true);
    }
  }
}
