import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import { ShutdownState } from './shutdown-state';

const sut = (drainMs: number) =>
  new ShutdownState(
    loadConfig({
      REDIS_URL: 'redis://127.0.0.1:1',
      DAVPUSH_DATA_DIR: '/tmp/davpush-unit',
      DAVPUSH_SHUTDOWN_DRAIN_MS: String(drainMs),
    }),
  );

describe('ShutdownState', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('flips once and remembers when', () => {
    const s = sut(0);
    expect(s.shuttingDown).toBe(false);
    s.begin(1000);
    s.begin(2000);
    expect(s.shuttingDown).toBe(true);
    expect(s.since).toBe(1000);
  });

  it('flips in beforeApplicationShutdown and waits out the drain delay there', async () => {
    const s = sut(150);
    const started = Date.now();
    await s.beforeApplicationShutdown();
    expect(s.shuttingDown).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('only waits what is left when the signal handler already flipped it', async () => {
    const s = sut(150);
    s.begin(Date.now() - 1000);
    const started = Date.now();
    await s.beforeApplicationShutdown();
    expect(Date.now() - started).toBeLessThan(100);
  });
});
