/**
 * Per push-service origin: a concurrency cap and a circuit breaker, so one slow, hanging or failing
 * push service cannot take every worker slot from healthy ones (dispatch-anchors §6.1 item 7).
 * In-process state: each worker process protects its own slots, which is what matters.
 */
export interface OriginGateOptions {
  /** Requests in flight to one origin at most. */
  maxInFlight: number;
  /** Consecutive transient failures that open the circuit. */
  failureThreshold: number;
  /** First open period; doubles on every re-open, up to maxOpenMs. */
  baseOpenMs: number;
  maxOpenMs: number;
}

export const DEFAULT_ORIGIN_GATE: OriginGateOptions = { maxInFlight: 32, failureThreshold: 20, baseOpenMs: 5_000, maxOpenMs: 60_000 };

export type GateResult = 'success' | 'failure' | 'neutral';

export type Admission = { admitted: true; release: (result: GateResult) => void } | { admitted: false; retryAt: number; reason: string };

interface OriginState {
  inFlight: number;
  failures: number;
  opens: number;
  openUntil: number;
  /** While half-open, only one probe request goes through. */
  probing: boolean;
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
      s = { inFlight: 0, failures: 0, opens: 0, openUntil: 0, probing: false };
      this.origins.set(origin, s);
    }
    return s;
  }

  admit(origin: string, now = Date.now()): Admission {
    const s = this.state(origin);
    const jitter = () => Math.floor(this.random() * 500);
    if (s.openUntil > now) return { admitted: false, retryAt: s.openUntil + jitter(), reason: 'circuit open' };
    const halfOpen = s.opens > 0 && s.failures >= this.opts.failureThreshold;
    if (halfOpen && s.probing) return { admitted: false, retryAt: now + 1000 + jitter(), reason: 'circuit half-open' };
    if (s.inFlight >= this.opts.maxInFlight) return { admitted: false, retryAt: now + 100 + jitter(), reason: 'origin busy' };
    s.inFlight++;
    if (halfOpen) s.probing = true;
    let released = false;
    return {
      admitted: true,
      release: (result) => {
        if (released) return;
        released = true;
        s.inFlight--;
        if (halfOpen) s.probing = false;
        this.record(s, result, Date.now());
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
    }
  }

  /** For metrics and the dashboard: origins whose circuit is open now. */
  openCircuits(now = Date.now()): string[] {
    return [...this.origins].filter(([, s]) => s.openUntil > now).map(([o]) => o);
  }
}
