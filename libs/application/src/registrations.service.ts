import { Injectable } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import {
  fieldNamesOf,
  NotFoundError,
  PreconditionFailedError,
  validateRegistrationRequest,
  type Registration,
  type RegistrationRequest,
} from '@davpush/domain';
import { assertPublicDestination, ForbiddenAddressError, PushGatewayRegistry } from '@davpush/gateways';
import { RegistrationStore, ReplicaAck } from '@davpush/storage';

/**
 * A new registration would pass DAVPUSH_MAX_REGISTRATIONS_PER_TOPIC or _PER_PRINCIPAL. 403 (not 429):
 * waiting does not help until registrations expire or are deleted; the DAV:error precondition is
 * `push-not-available`, which WebDAV-Push clients already understand as "no push here", and the
 * problem+json type says which limit.
 */
export class RegistrationLimitError extends PreconditionFailedError {
  readonly problemType = 'registration-limit';
  constructor(message: string) {
    super('push-not-available', message);
  }
}

/** Where the WebDAV-Push proxy serves its registration URLs, under DAVPUSH_PROXY_PUBLIC_URL (docs/proxy.md). */
export const PROXY_REGISTRATION_PATH = '/.davpush/registrations/';

/** Which front door hands out the registration URL: the tenant API or the WebDAV-Push proxy. */
export type RegistrationSurface = 'api' | 'proxy';

export interface RegistrationResult {
  created: boolean;
  id: string;
  location: string;
  expires: string;
}

@Injectable()
export class RegistrationsService {
  constructor(
    private readonly config: AppConfig,
    private readonly store: RegistrationStore,
    private readonly gateways: PushGatewayRegistry,
    private readonly replicas: ReplicaAck,
  ) {}

  registrationUrl(id: string, surface: RegistrationSurface = 'api'): string {
    if (surface === 'proxy' && this.config.proxy)
      return `${this.config.proxy.publicUrl}${PROXY_REGISTRATION_PATH}${id}`;
    return `${this.config.http.publicUrl}/v1/registrations/${id}`;
  }

  /**
   * The id in a registration URL exactly as handed out in `Location` (Push-Dont-Notify matching):
   * the tenant API's, or the proxy's when proxy mode is on.
   */
  idFromUrl(url: string): string | undefined {
    const prefixes = [`${this.config.http.publicUrl}/v1/registrations/`];
    if (this.config.proxy) prefixes.push(`${this.config.proxy.publicUrl}${PROXY_REGISTRATION_PATH}`);
    const prefix = prefixes.find((p) => url.startsWith(p));
    if (!prefix) return undefined;
    const id = url.slice(prefix.length);
    return /^[A-Za-z0-9_-]{16,64}$/.test(id) ? id : undefined;
  }

  async register(
    tenantId: string,
    topic: string,
    request: RegistrationRequest,
    principal?: string,
    surface: RegistrationSurface = 'api',
  ): Promise<RegistrationResult> {
    const valid = validateRegistrationRequest(request, {
      now: Date.now(),
      maxExpirySeconds: this.config.maxExpirySeconds,
      transports: this.gateways.transports(),
      allowHttp: this.config.allowPrivatePushEndpoints,
    });
    if (valid.subscription.type === 'web-push') {
      try {
        await assertPublicDestination(new URL(valid.subscription.pushResource), this.config.allowPrivatePushEndpoints);
      } catch (err) {
        const why =
          err instanceof ForbiddenAddressError
            ? 'resolves to a non-public address'
            : 'has a host that does not resolve';
        throw new PreconditionFailedError('invalid-subscription', `${fieldNamesOf(request).pushResource} ${why}`);
      }
    }
    const { registrationsPerTopic: perTopic, registrationsPerPrincipal: perPrincipal } = this.config.limits;
    const result = await this.store.upsert(tenantId, topic, valid, principal, Date.now(), { perTopic, perPrincipal });
    if (result.status === 'forbidden') {
      throw new PreconditionFailedError('push-not-available', 'this subscription is registered by another principal');
    }
    if (result.status === 'limit-topic') {
      throw new RegistrationLimitError(
        `this topic already has the most registrations allowed (${perTopic}); delete or let some expire first`,
      );
    }
    if (result.status === 'limit-principal') {
      throw new RegistrationLimitError(
        `this principal already has the most registrations allowed (${perPrincipal}); delete or let some expire first`,
      );
    }
    // DAVPUSH_DURABILITY=replicated (docs/durability.md): on a replica before the 201/204; an upsert, so a retry after a 503 is safe.
    await this.replicas.afterWrites();
    return {
      created: result.status === 'created',
      id: result.id,
      location: this.registrationUrl(result.id, surface),
      expires: new Date(valid.expiresAt).toUTCString(),
    };
  }

  /**
   * Removes the registration of this subscription on this topic, if there is one (CC/CD 70025
   * §5.2.2: a subscription with a past `expires` unsubscribes). The subscription is judged as for
   * {@link register} (so its identity is normalised the same way), without the address check: a
   * removal sends nothing anywhere. Returns whether a live registration was removed; another
   * principal's registration is left alone and reported as not removed.
   */
  async unregisterSubscription(
    tenantId: string,
    topic: string,
    request: RegistrationRequest,
    principal?: string,
  ): Promise<boolean> {
    const valid = validateRegistrationRequest(
      { subscription: request.subscription },
      {
        now: Date.now(),
        maxExpirySeconds: this.config.maxExpirySeconds,
        transports: this.gateways.transports(),
        allowHttp: this.config.allowPrivatePushEndpoints,
      },
    );
    const id = await this.store.idOf(tenantId, topic, valid.subscription);
    if (!id) return false;
    return (await this.store.remove(id, { tenantId, principal, identity: valid.subscription })) === 'removed';
  }

  /**
   * A registration bound to a principal (X-Davpush-Principal at registration) is only shown to a
   * request naming that principal; anything else answers like an unknown id (docs/security.md "Isolation between tenants": no leak).
   */
  async get(id: string, tenantId: string, principal: string | undefined): Promise<Registration> {
    const reg = await this.store.get(id, tenantId);
    if (!reg || (reg.principal !== undefined && reg.principal !== principal))
      throw new NotFoundError('no such registration');
    return reg;
  }

  /**
   * `strictPrincipal` (tenant-key requests): a bound registration needs its principal. Without a
   * key, the capability URL is enough, but a request naming another principal is still refused.
   */
  async remove(id: string, opts: { tenantId?: string; principal?: string; strictPrincipal?: boolean }): Promise<void> {
    const r = await this.store.remove(id, opts);
    // Another principal's registration answers like an unknown one: existence does not leak.
    if (r !== 'removed') throw new NotFoundError('no such registration (unknown or expired)');
    await this.replicas.afterWrites();
  }
}
