import { beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { RedisCluster } from '../support/redis-cluster';
import { eventually, type Harness } from '../e2e/harness';
import { useClusterWorld } from './cluster-world';

/**
 * The master holding davpush's keys crashes; its replica is promoted (Redis Cluster spec, "Replica
 * election and promotion": https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/).
 * The promoted node has never run davpush's Lua scripts (script caches are per node), and answers
 * with what had replicated. While no master serves the slot, requests get 503, never 500.
 */
describe('failover of the master holding davpush keys', () => {
  const w = useClusterWorld();
  let cluster: RedisCluster;
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  beforeAll(() => {
    ({ cluster, h, push, apiKey } = w);
  });

  it('keeps registrations that replicated, answers 503 (not 500) meanwhile, and delivers after the promotion', async () => {
    const { client: c, location } = await w.registerJson('fo-1');
    const ours = await cluster.ownersOf('{davpush}');
    expect(ours.replicas).toHaveLength(1);
    // The tenant and the registration have reached the replica before the crash (replication is
    // asynchronous). Not WAIT from redis-cli: WAIT counts only its own connection's writes
    // (https://redis.io/docs/latest/commands/wait/), none here, so it answered 1 at once even while
    // the replica lagged, and a promoted replica without the tenant answered 401.
    const offset = (info: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? -1);
    const written = offset(await cluster.cli(ours.master, 'INFO', 'replication'), 'master_repl_offset');
    await eventually(
      async () => offset(await cluster.cli(ours.replicas[0]!, 'INFO', 'replication'), 'slave_repl_offset') >= written,
      20_000,
      'the replica to catch up with the master',
    );

    await cluster.killNode(ours.master);
    const statuses = new Set<number>();
    let last = '';
    // Promotion takes the node timeout (2 s) and an election; on a loaded CI machine once more than
    // 30 s. Should it ever time out, the error says what davpush answered and what the replica is.
    await eventually(
      async () => {
        const res = await h.request('POST', '/v1/events', {
          token: apiKey,
          body: { topic: 'fo-1', changes: ['content'], syncToken: 'after-failover' },
        });
        statuses.add(res.status);
        last = `${res.status} ${await res.text()}`;
        return res.status === 202;
      },
      60_000,
      'an event accepted after the promotion',
    ).catch(async (err: Error) => {
      const role = await cluster.cli(ours.replicas[0]!, 'ROLE').catch((e: Error) => e.message);
      throw new Error(`${err.message}; answers ${[...statuses].join(',')}, last ${last}; replica ROLE ${role}`);
    });
    expect([...statuses].filter((s) => s !== 202 && s !== 503)).toEqual([]);
    expect((await cluster.cli(ours.replicas[0]!, 'ROLE')).startsWith('master')).toBe(true);
    await push.waitFor({ id: push.idOf(c), count: 1 }, 15_000);
    expect((await h.request('GET', location, { token: apiKey })).status).toBe(200);
  }, 100_000);
});
