import { Injectable } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import {
  NotFoundError,
  PreconditionFailedError,
  validateRegistrationRequest,
  type Registration,
  type RegistrationRequest,
} from '@davpush/domain';
import { assertPublicDestination, ForbiddenAddressError, PushGatewayRegistry } from '@davpush/gateways';
import { RegistrationStore } from '@davpush/storage';

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
  ) {}

  registrationUrl(id: string): string {
    return `${this.config.http.publicUrl}/v1/registrations/${id}`;
  }

  /** The id in a registration URL exactly as handed out in `Location` (Push-Dont-Notify matching). */
  idFromUrl(url: string): string | undefined {
    const prefix = `${this.config.http.publicUrl}/v1/registrations/`;
    if (!url.startsWith(prefix)) return undefined;
    const id = url.slice(prefix.length);
    return /^[A-Za-z0-9_-]{16,64}$/.test(id) ? id : undefined;
  }

  async register(tenantId: string, topic: string, request: RegistrationRequest, principal?: string): Promise<RegistrationResult> {
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
        const why = err instanceof ForbiddenAddressError ? 'resolves to a non-public address' : 'has a host that does not resolve';
        throw new PreconditionFailedError('invalid-subscription', `push-resource ${why}`);
      }
    }
    const result = await this.store.upsert(tenantId, topic, valid, principal);
    if (result.status === 'forbidden') {
      throw new PreconditionFailedError('push-not-available', 'this subscription is registered by another principal');
    }
    return {
      created: result.status === 'created',
      id: result.id,
      location: this.registrationUrl(result.id),
      expires: new Date(valid.expiresAt).toUTCString(),
    };
  }

  async get(id: string, tenantId: string): Promise<Registration> {
    const reg = await this.store.get(id, tenantId);
    if (!reg) throw new NotFoundError('no such registration');
    return reg;
  }

  async remove(id: string, opts: { tenantId?: string; principal?: string }): Promise<void> {
    const r = await this.store.remove(id, opts);
    // Another principal's registration answers like an unknown one: existence does not leak.
    if (r !== 'removed') throw new NotFoundError('no such registration (unknown or expired)');
  }
}
