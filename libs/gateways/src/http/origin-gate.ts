/**
 * Per push-service origin: a concurrency cap and a circuit breaker, so one slow, hanging or failing
 * push service cannot take every worker slot from healthy ones (dispatch-anchors §6.1 item 7).
 * A busy origin makes a few deliveries wait briefly for a free slot (a healthy, fast origin frees
 * slots in milliseconds); beyond that they are bounced back to the queue without holding a slot.
 * In-process state: each worker process protects its own slots, which is what matters.
 */
export interface OriginGateOptions {
  /** Requests in flight to one origin at most. */
  maxInFlight: number;
  /** Deliveries that may wait for a slot of a silent origin; more are bounced at once. */
  maxWaiting: number;
  /** How long a delivery waits for a slot of an origin that has stopped answering before it is bounced. */
  maxWaitMs: number;
  /** Consecutive transient failures that open the circuit. */
  failureThreshold: number;
  /** First open period; doubles on every re-open, up to maxOpenMs. */
  baseOpenMs: number;
  maxOpenMs: number;
}

export const DEFAULT_ORIGIN_GATE: OriginGateOptions = {
  maxInFlight: 64,
  maxWaiting: 64,
  maxWaitMs: 1000,
  failureThreshold: 20,
  baseOpenMs: 5_000,
  maxOpenMs: 60_000,
};

/** An origin that answered within this window counts as answering (busy, not hanging). */
const ANSWERING_WINDOW_MS = 500;

/** Weight of the newest request in an origin's moving mean answer time (OriginGate.answersPerSecond). */
const ANSWER_MS_WEIGHT = 0.2;

export type GateResult = 'success' | 'failure' | 'neutral';

/** The reason of a turn-away by our own concurrency cap (the origin itself is healthy). */
export const ORIGIN_BUSY = 'origin busy';

export type Admission =
  { admitted: true; release: (result: GateResult) => void } | { admitted: false; retryAt: number; reason: string };

interface OriginState {
  inFlight: number;
  /** When a request to this origin last came back (any answer): a busy origin that answers is healthy. */
  lastAnswerAt: number;
  /** Deliveries waiting for a slot, first come first served. */
  waiting: WaiterQueue;
  failures: number;
  opens: number;
  openUntil: number;
  /** While half-open, only one probe request goes through. */
  probing: boolean;
  /** Moving mean of the time from a request's slot to its answer, in ms (0 before the first answer). */
  answerMs: number;
}

interface Waiter {
  /** Called with true when handed a slot, false when bounced (the circuit opened). */
  wake: (granted: boolean) => void;
  /** Woken or given up: skipped when the queue reaches it. */
  done: boolean;
}

/**
 * FIFO of waiters with O(1) push, shift and cancel: a waiter that gives up is only marked, and
 * skipped when it reaches the head (an `indexOf` + `splice` per time-out is quadratic with
 * thousands of waiters). The array is compacted once its consumed head outgrows the rest.
 */
export class WaiterQueue {
  private items: (Waiter | undefined)[] = [];
  private head = 0;
  /** Waiters neither woken nor given up. */
  size = 0;

  push(w: Waiter): void {
    this.items.push(w);
    this.size++;
  }

  cancel(w: Waiter): void {
    if (w.done) return;
    w.done = true;
    this.size--;
  }

  shift(): Waiter | undefined {
    while (this.head < this.items.length) {
      const w = this.items[this.head];
      this.items[this.head++] = undefined;
      if (w && !w.done) {
        w.done = true;
        this.size--;
        this.compact();
        return w;
      }
    }
    this.compact();
    return undefined;
  }

  /** Every live waiter, the queue emptied. */
  drain(): Waiter[] {
    const live: Waiter[] = [];
    for (let w = this.shift(); w; w = this.shift()) live.push(w);
    return live;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export class OriginGate {
  private readonly origins = new Map<string, OriginState>();

  constructor(
    private readonly opts: OriginGateOptions = DEFAULT_ORIGIN_GATE,
    private readonly random: () => number = Math.random,
  ) {}

  private state(origin: string): OriginState {
    let s = this.origins.get(origin);
    if (!s) {
      s = {
        inFlight: 0,
        lastAnswerAt: 0,
        waiting: new WaiterQueue(),
        failures: 0,
        opens: 0,
        openUntil: 0,
        probing: false,
        answerMs: 0,
      };
      this.origins.set(origin, s);
    }
    return s;
  }

  /** Admits now, after a short wait for a slot, or not (then `retryAt` says when to come back). */
  async acquire(origin: string, now = Date.now()): Promise<Admission> {
    const first = this.admit(origin, now);
    if (first.admitted || first.reason !== ORIGIN_BUSY) return first;
    const s = this.state(origin);
    if (this.waitingRoomShut(s, now)) return first;
    const answering = (at: number, windowMs: number) => at - s.lastAnswerAt < windowMs;
    const gotSlot = await new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        done: false,
        wake: (granted) => {
          clearTimeout(timer);
          resolve(granted);
        },
      };
      const check = () => {
        if (waiter.done) return;
        // Still answering within the last wait period: keep the place in the queue.
        if (answering(Date.now(), Math.max(ANSWERING_WINDOW_MS, this.opts.maxWaitMs))) {
          timer = setTimeout(check, this.opts.maxWaitMs);
          return;
        }
        s.waiting.cancel(waiter);
        resolve(false);
      };
      let timer = setTimeout(check, this.opts.maxWaitMs);
      s.waiting.push(waiter);
    });
    // A woken waiter was handed the slot of the request that finished.
    if (gotSlot) return this.grant(s, false);
    const open = s.openUntil > Date.now();
    return {
      admitted: false,
      retryAt: (open ? s.openUntil : Date.now()) + Math.floor(this.random() * 500),
      reason: open ? 'circuit open' : ORIGIN_BUSY,
    };
  }

  /**
   * Pushes a second `origin` takes as it answers now: its slots over the moving mean time of its
   * requests (Little's law), undefined before its first answer. A slow push service that still
   * answers takes few; one answering in 25 ms with 64 slots about 2,560.
   */
  answersPerSecond(origin: string): number | undefined {
    const s = this.origins.get(origin);
    if (!s || s.answerMs === 0) return undefined;
    return (this.opts.maxInFlight * 1000) / Math.max(1, s.answerMs);
  }

  /**
   * Whether `origin` is known to answer: circuit closed (not half-open), and nothing in flight that
   * has gone unanswered for longer than the answering window. A busy origin that answers is; one
   * that may be hanging or is failing is not. Takes nothing; `acquire` still decides.
   */
  answering(origin: string, now = Date.now()): boolean {
    const s = this.origins.get(origin);
    if (!s) return true;
    if (s.openUntil > now || this.halfOpen(s)) return false;
    return s.inFlight === 0 || now - s.lastAnswerAt < ANSWERING_WINDOW_MS;
  }

  /**
   * Whether `acquire` would turn any push to `origin` away now without a slot: its circuit is open,
   * half-open with its one probe out, or every slot is taken by requests gone unanswered and its
   * waiting room is full (a hanging origin).
   */
  turnsAway(origin: string, now = Date.now()): boolean {
    const s = this.origins.get(origin);
    if (!s) return false;
    if (s.openUntil > now || (s.probing && this.halfOpen(s))) return true;
    return s.inFlight >= this.opts.maxInFlight && this.waitingRoomShut(s, now);
  }

  /**
   * A busy origin that keeps answering frees slots every few milliseconds: any number may queue,
   * for as long as it keeps answering. One that has stopped answering (hanging) gets at most
   * maxWaiting waiters for maxWaitMs, so it can never hold more than maxInFlight + maxWaiting
   * worker slots for long: beyond that, no more may wait.
   */
  private waitingRoomShut(s: OriginState, now: number): boolean {
    return now - s.lastAnswerAt >= ANSWERING_WINDOW_MS && s.waiting.size >= this.opts.maxWaiting;
  }

  admit(origin: string, now = Date.now()): Admission {
    const s = this.state(origin);
    const jitter = () => Math.floor(this.random() * 500);
    if (s.openUntil > now) return { admitted: false, retryAt: s.openUntil + jitter(), reason: 'circuit open' };
    const halfOpen = this.halfOpen(s);
    if (halfOpen && s.probing) return { admitted: false, retryAt: now + 1000 + jitter(), reason: 'circuit half-open' };
    if (s.inFlight >= this.opts.maxInFlight)
      return { admitted: false, retryAt: now + 100 + jitter(), reason: ORIGIN_BUSY };
    s.inFlight++;
    return this.grant(s, halfOpen);
  }

  /** Past its open period after opening, not yet closed by a success: one probe at a time. */
  private halfOpen(s: OriginState): boolean {
    return s.opens > 0 && s.failures >= this.opts.failureThreshold;
  }

  private grant(s: OriginState, probe: boolean): Admission {
    if (probe) s.probing = true;
    let released = false;
    const grantedAt = Date.now();
    return {
      admitted: true,
      release: (result) => {
        if (released) return;
        released = true;
        if (probe) s.probing = false;
        s.lastAnswerAt = Date.now();
        const ms = s.lastAnswerAt - grantedAt;
        s.answerMs = s.answerMs === 0 ? ms || 1 : s.answerMs + (ms - s.answerMs) * ANSWER_MS_WEIGHT;
        this.record(s, result, Date.now());
        const next = s.openUntil > Date.now() ? undefined : s.waiting.shift();
        // The slot passes straight to a waiter (inFlight unchanged), or is freed.
        if (next) next.wake(true);
        else s.inFlight--;
      },
    };
  }

  private record(s: OriginState, result: GateResult, now: number): void {
    if (result === 'success') {
      s.failures = 0;
      s.opens = 0;
      return;
    }
    if (result !== 'failure') return;
    s.failures++;
    // Requests that were in flight when the circuit opened report late: they must not extend it.
    // Only a failure while closed or half-open (the probe) opens it again, for twice as long.
    if (s.failures >= this.opts.failureThreshold && s.openUntil <= now) {
      s.openUntil = now + Math.min(this.opts.maxOpenMs, this.opts.baseOpenMs * 2 ** s.opens);
      s.opens++;
      // Waiters would only be sent into an open circuit: bounce them now.
      for (const w of s.waiting.drain()) w.wake(false);
    }
  }

  /** For metrics and the dashboard: origins whose circuit is open now. */
  openCircuits(now = Date.now()): string[] {
    return [...this.origins].filter(([, s]) => s.openUntil > now).map(([o]) => o);
  }
}
