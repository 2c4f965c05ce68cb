import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, PreconditionFailedError, RateLimitedError, StorageUnavailableError } from '@davpush/domain';
import { RedisService } from '@davpush/storage';
import { type DavErrorBuilder, wantsXml, webDavPushError, writeProblem } from './problem';

const STATUS: Record<DomainError['kind'], [number, string]> = {
  validation: [400, 'Bad Request'],
  precondition: [403, 'Forbidden'],
  'not-found': [404, 'Not Found'],
  'too-large': [413, 'Payload Too Large'],
  'unsupported-media-type': [415, 'Unsupported Media Type'],
  unauthorized: [401, 'Unauthorized'],
  conflict: [409, 'Conflict'],
  'rate-limited': [429, 'Too Many Requests'],
  unavailable: [503, 'Service Unavailable'],
};

/** The only place domain errors become HTTP (immich's filter). Unknown errors: 500, logged, no detail leaked. */
@Catch()
export class DomainExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  constructor(private readonly redis: RedisService) {}

  /** How an error answers in XML (DAV:error), or null for problem+json; by Content-Type here. */
  protected davErrorFor(req: Request): DavErrorBuilder | null {
    return wantsXml(req) ? webDavPushError : null;
  }

  catch(thrown: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    // A Redis failure while the connection is down, or a command that timed out (DAVPUSH_REDIS_COMMAND_TIMEOUT_MS),
    // becomes StorageUnavailableError (503) here.
    const exception =
      thrown instanceof DomainError || thrown instanceof HttpException ? thrown : this.redis.asDomainError(thrown);
    // The route template, not the path: paths carry registration ids, which are capabilities.
    const route = typeof req.route?.path === 'string' ? `${req.baseUrl ?? ''}${req.route.path}` : 'unmatched';
    if (exception instanceof StorageUnavailableError) {
      this.logger.warn({
        msg: 'request failed while Redis is unavailable',
        route,
        error: exception.message,
        requestId: req.headers['x-request-id'],
      });
      // A specific kind of unavailability (`replication-timeout`, docs/durability.md) names itself and says what happened.
      const specific = (exception as { problemType?: unknown }).problemType;
      const detail =
        typeof specific === 'string'
          ? exception.message
          : 'storage is unavailable; nothing was accepted, retry shortly';
      return writeProblem(
        req,
        res,
        503,
        'Service Unavailable',
        detail,
        undefined,
        { 'Retry-After': String(exception.retryAfterSeconds) },
        typeof specific === 'string' ? specific : undefined,
        this.davErrorFor(req),
      );
    }
    if (exception instanceof DomainError) {
      const [status, title] = STATUS[exception.kind];
      const headers: Record<string, string> = {};
      if (exception.kind === 'unauthorized') headers['WWW-Authenticate'] = 'Bearer';
      if (exception instanceof RateLimitedError) headers['Retry-After'] = String(exception.retryAfterSeconds);
      const precondition = exception instanceof PreconditionFailedError ? exception.precondition : undefined;
      const problemType = (exception as { problemType?: unknown }).problemType;
      return writeProblem(
        req,
        res,
        status,
        title,
        exception.message,
        precondition,
        headers,
        typeof problemType === 'string' ? problemType : undefined,
        this.davErrorFor(req),
      );
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return writeProblem(
        req,
        res,
        status,
        exception.name.replace(/Exception$/, '').replace(/([a-z])([A-Z])/g, '$1 $2'),
        exception.message,
        undefined,
        {},
        undefined,
        this.davErrorFor(req),
      );
    }
    this.logger.error({
      msg: 'unhandled error',
      route,
      error: (exception as Error)?.stack ?? String(exception),
      requestId: req.headers['x-request-id'],
    });
    writeProblem(
      req,
      res,
      500,
      'Internal Server Error',
      'an unexpected error occurred; it has been logged',
      undefined,
      {},
      undefined,
      this.davErrorFor(req),
    );
  }
}
