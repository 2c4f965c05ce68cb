import { type ArgumentsHost, Catch } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InvalidTopicsError } from '@davpush/domain';
import { buildCcPreconditionError, buildDavErrorMessage, buildInvalidTopicsError } from '@davpush/webdav-push';
import { DomainExceptionFilter } from '../http/domain-exception.filter';
import { type DavErrorBuilder, PROBLEM_BASE, wantsXml } from '../http/problem';

/** The client `subscribe` route takes XML; the gateway root is JSON only (draft §6.1). */
const isSubscribeRoute = (req: Request) => /^\/v1\/gateway\/subscribe\/?$/i.test(req.path);

/** DAV:error in the CC namespace (draft §6.2.2), never WebDAV-Push's elements. */
const ccDavError: DavErrorBuilder = (precondition, detail) =>
  precondition ? buildCcPreconditionError(precondition, detail) : buildDavErrorMessage(detail);

/**
 * The gateway's errors: problem+json at the JSON-only root whatever the request's Content-Type;
 * at the `subscribe` route, DAV:error for XML requests with the condition in the CC namespace
 * (draft-gajda-dav-push-00 §6.2.2). The `invalid-topics` precondition (§5.2.3.2, §6.1.2, §6.2.2):
 * `403` with a DAV:error listing the topics for XML, and for JSON an RFC 9457 problem that also
 * carries the draft's own error member `{"error": {"invalid-topics": [...]}}`.
 */
@Catch()
export class GatewayExceptionFilter extends DomainExceptionFilter {
  protected override davErrorFor(req: Request): DavErrorBuilder | null {
    return isSubscribeRoute(req) && wantsXml(req) ? ccDavError : null;
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (!(exception instanceof InvalidTopicsError)) return super.catch(exception, host);
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    if (this.davErrorFor(req)) {
      res
        .status(403)
        .type('application/xml; charset=utf-8')
        .send(buildInvalidTopicsError(exception.topics, exception.message));
      return;
    }
    const topics = [...exception.topics];
    res
      .status(403)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: `${PROBLEM_BASE}invalid-topics`,
          title: 'Forbidden',
          status: 403,
          detail: exception.message,
          precondition: 'invalid-topics',
          'invalid-topics': topics,
          error: { 'invalid-topics': topics },
        }),
      );
  }
}
