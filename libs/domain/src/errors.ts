/**
 * Domain errors. Services throw these; only the HTTP layer maps them to status codes
 * (apps/api/src/http/domain-exception.filter.ts). Never an HttpException below the API.
 */
export abstract class DomainError extends Error {
  abstract readonly kind:
    | 'validation'
    | 'precondition'
    | 'not-found'
    | 'too-large'
    | 'unsupported-media-type'
    | 'unauthorized'
    | 'conflict'
    | 'rate-limited'
    | 'unavailable';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Malformed input: 400. */
export class ValidationError extends DomainError {
  readonly kind = 'validation' as const;
}

/** WebDAV-Push preconditions (draft §"Registration"): answered 403 with a DAV:error body. */
export type Precondition = 'invalid-subscription' | 'no-supported-trigger' | 'push-not-available';

export class PreconditionFailedError extends DomainError {
  readonly kind = 'precondition' as const;
  constructor(
    readonly precondition: Precondition,
    message: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not-found' as const;
}

export class PayloadTooLargeError extends DomainError {
  readonly kind = 'too-large' as const;
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly kind = 'unsupported-media-type' as const;
}

export class UnauthorizedError extends DomainError {
  readonly kind = 'unauthorized' as const;
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict' as const;
}

export class RateLimitedError extends DomainError {
  readonly kind = 'rate-limited' as const;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/**
 * The store could not be reached (Redis down or reconnecting): nothing was accepted, and the caller
 * should come back shortly (503 with `Retry-After`). Raised by libs/storage (`RedisService.asDomainError`).
 */
export class StorageUnavailableError extends DomainError {
  readonly kind = 'unavailable' as const;
  constructor(
    message: string,
    readonly retryAfterSeconds = 2,
  ) {
    super(message);
  }
}
