import type { INestApplicationContext, Type } from '@nestjs/common';
import { VapidRotationService } from '@davpush/gateways';
import { DeadLetterService } from '@davpush/queue';

/** What `davpush vapid rotate` needs (issue #5): the rotation notifies subscribers, then swaps keys. */
export interface VapidRotation {
  rotate(): Promise<{ notified: number; gone: number; failed: number; publicKey: string }>;
}

/** What `davpush dlq list|replay` needs. */
export interface DeadLetters {
  list(limit?: number): Promise<unknown[]>;
  replay(ids?: string[]): Promise<{ replayed: number }>;
}

/**
 * The services behind the commands that other parts of the codebase provide. A class reference,
 * never a string token; set one to `undefined` (and drop its import) to build without it, and the
 * command reports "not available in this build" instead of failing to compile or crashing.
 */
export interface OptionalServices {
  vapidRotation?: Type<VapidRotation>;
  deadLetters?: Type<DeadLetters>;
}

export const OPTIONAL_SERVICES: OptionalServices = {
  vapidRotation: VapidRotationService,
  deadLetters: DeadLetterService,
};

/** The provider, or undefined when this build or this context does not have it. */
export function resolveOptional<T>(app: INestApplicationContext, type: Type<T> | undefined): T | undefined {
  if (!type) return undefined;
  try {
    return app.get(type, { strict: false });
  } catch {
    return undefined;
  }
}
