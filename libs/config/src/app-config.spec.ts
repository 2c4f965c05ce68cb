import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const sut = loadConfig({});
    expect(sut.http).toEqual({ host: '127.0.0.1', port: 8080, publicUrl: 'http://127.0.0.1:8080' });
    expect(sut.coalesceMs).toBe(1000);
    expect(sut.defaultTtlSeconds).toBe(43200);
    expect(sut.ingestRatePerSecond).toBe(500);
    expect(sut.maxExpirySeconds).toBe(604800);
    expect(sut.allowPrivatePushEndpoints).toBe(false);
    expect(sut.vapid.subjectIsPlaceholder).toBe(true);
  });

  it('names every bad variable in one error', () => {
    const bad = {
      PORT: 'eighty',
      DAVPUSH_MAX_EXPIRY: '60',
      REDIS_URL: 'http://x',
      DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: 'maybe',
    };
    const err = (() => {
      try {
        loadConfig(bad);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    for (const name of Object.keys(bad)) expect(err.message).toContain(name);
  });

  it('takes Redis Cluster credentials only with REDIS_CLUSTER_NODES, a username only with its password', () => {
    const nodes = { REDIS_CLUSTER_NODES: '10.0.0.1:6379,10.0.0.2:6379' };
    expect(loadConfig({ ...nodes, REDIS_CLUSTER_USERNAME: 'davpush', REDIS_CLUSTER_PASSWORD: 's3cret' }).redis).toEqual(
      {
        url: undefined,
        clusterNodes: [
          { host: '10.0.0.1', port: 6379 },
          { host: '10.0.0.2', port: 6379 },
        ],
        clusterAuth: { username: 'davpush', password: 's3cret' },
        commandTimeoutMs: 10_000,
      },
    );
    expect(loadConfig(nodes).redis.clusterAuth).toBeUndefined();
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_PASSWORD: 's3cret' })).toThrow(
      /REDIS_CLUSTER_PASSWORD: is for REDIS_CLUSTER_NODES/,
    );
    expect(() => loadConfig({ ...nodes, REDIS_CLUSTER_USERNAME: 'davpush' })).toThrow(
      /REDIS_CLUSTER_PASSWORD: must be set with REDIS_CLUSTER_USERNAME/,
    );
  });

  it('takes the VAPID subject scheme in any case (RFC 3986 §3.1) and sends it in lower case', () => {
    expect(loadConfig({ DAVPUSH_VAPID_SUBJECT: 'MAILTO:ops@EXAMPLE.ORG' }).vapid.subject).toBe(
      'mailto:ops@EXAMPLE.ORG',
    );
    expect(loadConfig({ DAVPUSH_VAPID_SUBJECT: 'HTTPS://Example.org/contact' }).vapid.subject).toBe(
      'https://Example.org/contact',
    );
    expect(() => loadConfig({ DAVPUSH_VAPID_SUBJECT: 'ops@example.org' })).toThrow(/DAVPUSH_VAPID_SUBJECT/);
  });

  it('rejects a VAPID pair that does not belong together', () => {
    const a = webpush.generateVAPIDKeys();
    const b = webpush.generateVAPIDKeys();
    expect(() =>
      loadConfig({ DAVPUSH_VAPID_PUBLIC_KEY: a.publicKey, DAVPUSH_VAPID_PRIVATE_KEY: b.privateKey }),
    ).toThrow(/does not match/);
    expect(
      loadConfig({ DAVPUSH_VAPID_PUBLIC_KEY: a.publicKey, DAVPUSH_VAPID_PRIVATE_KEY: a.privateKey }).vapid.publicKey,
    ).toBe(a.publicKey);
    expect(() => loadConfig({ DAVPUSH_VAPID_PUBLIC_KEY: a.publicKey })).toThrow(/DAVPUSH_VAPID_PRIVATE_KEY/);
  });

  it('never prints secrets', () => {
    const keys = webpush.generateVAPIDKeys();
    const sut = loadConfig({
      DAVPUSH_ADMIN_TOKEN: 'x'.repeat(40),
      DAVPUSH_VAPID_PUBLIC_KEY: keys.publicKey,
      DAVPUSH_VAPID_PRIVATE_KEY: keys.privateKey,
      REDIS_URL: 'redis://user:hunter2@localhost:6379',
    });
    const printed = JSON.stringify(sut);
    expect(printed).not.toContain('x'.repeat(40));
    expect(printed).not.toContain(keys.privateKey);
    expect(printed).not.toContain('hunter2');
  });

  it('reads queue shards, the shards a worker consumes, and the durability setting', () => {
    expect(loadConfig({}).queues).toEqual({ shards: 1, consumed: [0] });
    expect(loadConfig({}).durability).toEqual({ mode: 'local', timeoutMs: 1000 });
    expect(loadConfig({ DAVPUSH_QUEUE_SHARDS: '4' }).queues).toEqual({ shards: 4, consumed: [0, 1, 2, 3] });
    expect(loadConfig({ DAVPUSH_QUEUE_SHARDS: '4', DAVPUSH_WORKER_SHARDS: '2,0,2' }).queues).toEqual({
      shards: 4,
      consumed: [0, 2],
    });
    expect(() => loadConfig({ DAVPUSH_QUEUE_SHARDS: '4', DAVPUSH_WORKER_SHARDS: '1,4' })).toThrow(
      /DAVPUSH_WORKER_SHARDS: shard 4 does not exist/,
    );
    expect(() => loadConfig({ DAVPUSH_WORKER_SHARDS: 'a' })).toThrow(/DAVPUSH_WORKER_SHARDS/);
    expect(() => loadConfig({ DAVPUSH_QUEUE_SHARDS: '0' })).toThrow(/DAVPUSH_QUEUE_SHARDS: must be at least 1/);
    expect(loadConfig({ DAVPUSH_DURABILITY: 'replicated', DAVPUSH_DURABILITY_TIMEOUT_MS: '250' }).durability).toEqual({
      mode: 'replicated',
      timeoutMs: 250,
    });
    expect(() => loadConfig({ DAVPUSH_DURABILITY: 'sync' })).toThrow(/DAVPUSH_DURABILITY/);
  });

  it('bounds each command of the stores’ Redis client, and keeps that bound above Redis WAIT under replicated durability', () => {
    expect(loadConfig({}).redis.commandTimeoutMs).toBe(10_000);
    expect(loadConfig({ DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: '300' }).redis.commandTimeoutMs).toBe(300);
    expect(() => loadConfig({ DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: '99' })).toThrow(
      /DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: must be at least 100/,
    );
    expect(() => loadConfig({ DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: '5s' })).toThrow(/DAVPUSH_REDIS_COMMAND_TIMEOUT_MS/);
    // WAIT (DAVPUSH_DURABILITY_TIMEOUT_MS, plus ReplicaAck's grace of 1000 ms) runs on that client.
    const replicated = { DAVPUSH_DURABILITY: 'replicated', DAVPUSH_DURABILITY_TIMEOUT_MS: '2000' };
    expect(() => loadConfig({ ...replicated, DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: '2999' })).toThrow(
      /DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: must be at least DAVPUSH_DURABILITY_TIMEOUT_MS \+ 1000 \(3000\)/,
    );
    expect(loadConfig({ ...replicated, DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: '3000' }).redis.commandTimeoutMs).toBe(3000);
    // Unset, it follows the durability timeout: a replicated config from before the variable existed still starts.
    const unset = (durability: string, timeoutMs: string) =>
      loadConfig({ DAVPUSH_DURABILITY: durability, DAVPUSH_DURABILITY_TIMEOUT_MS: timeoutMs }).redis.commandTimeoutMs;
    expect(unset('replicated', '60000')).toBe(61_000);
    expect(unset('replicated', '9001')).toBe(10_001);
    expect(unset('replicated', '9000')).toBe(10_000);
    expect(unset('replicated', '2000')).toBe(10_000);
    expect(unset('local', '60000')).toBe(10_000);
    // Set, it is the operator's: too low is refused, not raised behind their back.
    expect(() =>
      loadConfig({
        DAVPUSH_DURABILITY: 'replicated',
        DAVPUSH_DURABILITY_TIMEOUT_MS: '60000',
        DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: '10000',
      }),
    ).toThrow(/DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: must be at least DAVPUSH_DURABILITY_TIMEOUT_MS \+ 1000 \(61000\)/);
    // Under `local` there is no WAIT: a short command timeout is fine whatever the durability timeout.
    expect(
      loadConfig({ DAVPUSH_DURABILITY_TIMEOUT_MS: '60000', DAVPUSH_REDIS_COMMAND_TIMEOUT_MS: '500' }).redis
        .commandTimeoutMs,
    ).toBe(500);
  });
});
