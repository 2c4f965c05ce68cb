/** After `Promise.allSettled`: rethrows the first rejection, once every promise has run to its end. */
export function throwFirstFailure(results: readonly PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
