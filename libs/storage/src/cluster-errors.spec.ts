import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isClusterUnavailable } from './cluster-errors';

describe('isClusterUnavailable', () => {
  it.each([
    'CLUSTERDOWN The cluster is down',
    'CLUSTERDOWN Hash slot not served',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'MOVED 3999 127.0.0.1:6381',
    'ASK 3999 127.0.0.1:6381',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
    'LOADING Redis is loading the dataset in memory',
  ])('recognises the reply %s', (message) => {
    expect(isClusterUnavailable(new ReplyError(message))).toBe(true);
  });

  it.each([
    'Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down',
    'Failed to refresh slots cache.',
    "Cluster isn't ready and enableOfflineQueue options is false",
  ])('recognises the ioredis error %s', (message) => {
    expect(isClusterUnavailable(new Error(message))).toBe(true);
  });

  it('leaves bugs and other errors alone', () => {
    expect(isClusterUnavailable(new ReplyError("CROSSSLOT Keys in request don't hash to the same slot"))).toBe(false);
    expect(
      isClusterUnavailable(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ).toBe(false);
    expect(isClusterUnavailable(new ReplyError('ERR Error running script: MOVED is a word here'))).toBe(false);
    expect(isClusterUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isClusterUnavailable('CLUSTERDOWN')).toBe(false);
    expect(isClusterUnavailable(undefined)).toBe(false);
  });
});
