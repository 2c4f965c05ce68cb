import { Logger, type LoggerService } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionErrorLog } from './connection-error-log';

describe('ConnectionErrorLog', () => {
  const lines: unknown[] = [];
  const recorder: LoggerService = {
    log: () => undefined,
    error: () => undefined,
    warn: (m: unknown) => void lines.push(m),
  };

  beforeEach(() => {
    lines.length = 0;
    vi.useFakeTimers();
    Logger.overrideLogger(recorder);
  });
  afterEach(() => {
    vi.useRealTimers();
    Logger.overrideLogger(false);
  });

  it('logs the first error at once, then one line per interval with the count, the sources and the last cause', () => {
    const sut = new ConnectionErrorLog(10_000);
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    sut.report('store', refused);
    for (let i = 0; i < 50; i++) sut.report(i % 2 ? 'queue fanout' : 'worker fanout', refused);
    expect(lines).toEqual([
      { msg: 'redis connection error', source: 'store', error: 'connect ECONNREFUSED 127.0.0.1:6379' },
    ]);
    vi.advanceTimersByTime(10_000);
    expect(lines[1]).toEqual({
      msg: 'redis connection errors continue',
      count: 50,
      seconds: 10,
      sources: ['queue fanout', 'worker fanout'],
      lastError: 'connect ECONNREFUSED 127.0.0.1:6379',
    });
    // Quiet interval: nothing logged, and the next outage's first error is logged at once again.
    vi.advanceTimersByTime(20_000);
    expect(lines).toHaveLength(2);
    sut.report('store', new Error('Connection is closed.'));
    expect(lines[2]).toEqual({ msg: 'redis connection error', source: 'store', error: 'Connection is closed.' });
  });
});
