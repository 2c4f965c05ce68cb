/**
 * Runs `cleanUp` when the test process exits, and on SIGTERM/SIGINT before the signal's default
 * action (terminate), so spawned servers never outlive a test run however it ends.
 */
export function onProcessExit(cleanUp: () => void): void {
  process.on('exit', cleanUp);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = () => {
      cleanUp();
      process.off(sig, onSignal);
      // Nobody else handles it: fall back to the default action (terminate by that signal).
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
