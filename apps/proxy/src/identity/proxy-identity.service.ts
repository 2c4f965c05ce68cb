import { Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { AppConfig } from '@davpush/config';
import { ProxyStateStore, SecretStore, TenantStore } from '@davpush/storage';
import { canonicalCollectionPath, proxyTopic } from '@davpush/webdav-push';
import { UpstreamClient } from '../upstream/upstream.client';

/**
 * Who the proxy acts for and how it names things: its tenant (created on first start, one per
 * upstream), the topic of each collection (a keyed hash, see `proxyTopic`) and the principal a
 * registration is bound to (a keyed hash of the DAV user name, so Redis holds no user names).
 */
@Injectable()
export class ProxyIdentity {
  private tenant?: { id: string; created: boolean; lost?: string };
  private topicKey?: Buffer;
  private principalKey?: Buffer;

  constructor(
    private readonly config: AppConfig,
    private readonly upstream: UpstreamClient,
    private readonly secrets: SecretStore,
    private readonly tenants: TenantStore,
    private readonly state: ProxyStateStore,
  ) {}

  async init(): Promise<void> {
    const secret = await this.secrets.topicKey();
    // Separate keys per use, derived from the one server secret every process shares.
    this.topicKey = createHmac('sha256', secret).update('davpush proxy topics').digest();
    this.principalKey = createHmac('sha256', secret).update('davpush proxy principals').digest();
    const create = async () => (await this.tenants.create(`proxy for ${this.upstream.id}`)).id;
    this.tenant = await this.state.tenant(this.upstream.id, create);
    await this.drop(this.tenant.lost);
    let t = await this.tenants.get(this.tenant.id);
    if (!t) {
      // Deleted through the API (with its registrations): start over with a new tenant.
      await this.state.forgetTenant(this.upstream.id, this.tenant.id);
      this.tenant = await this.state.tenant(this.upstream.id, create);
      await this.drop(this.tenant.lost);
      t = await this.tenants.get(this.tenant.id);
      if (!t) throw new Error(`the proxy's tenant ${this.tenant.id} disappeared while starting; start again`);
    }
    if (t.revokedAt)
      throw new Error(
        `the proxy's tenant ${this.tenant.id} is revoked; delete it (DELETE /v1/tenants/${this.tenant.id}) to start with a new one`,
      );
  }

  /** A tenant created by a start that lost the race with another process: never used, so removed. */
  private async drop(id: string | undefined): Promise<void> {
    if (!id) return;
    await this.tenants.revoke(id);
    await this.tenants.forget(id);
  }

  get tenantId(): string {
    return this.tenant!.id;
  }

  /** The topic of the collection at `path` (any alias). */
  topicOf(path: string): string {
    return proxyTopic(this.topicKey!, this.upstream.id, path);
  }

  canonical(path: string): string {
    return canonicalCollectionPath(path);
  }

  /**
   * The principal of a request, from its `Authorization` as the upstream accepted it: the Basic
   * user name (RFC 7617) when there is one, else the whole credential; `anonymous` without one.
   */
  principalOf(authorization: string | undefined): string {
    if (!authorization) return 'anonymous';
    const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    const user = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':')[0] : undefined;
    const mac = createHmac('sha256', this.principalKey!)
      .update(user !== undefined ? `user\n${user}` : `credential\n${authorization}`)
      .digest('base64url');
    return `dav:${mac.slice(0, 32)}`;
  }

  /** `Authorization` of the service account (DAVPUSH_PROXY_SERVICE_USER), if configured. */
  serviceAuthorization(): string | undefined {
    const s = this.config.proxy!.service;
    return s ? `Basic ${Buffer.from(`${s.user}:${s.password}`).toString('base64')}` : undefined;
  }
}
