import { type ArgumentsHost, Catch } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InvalidTopicsError } from '@davpush/domain';
import { buildInvalidTopicsError } from '@davpush/webdav-push';
import { DomainExceptionFilter } from '../http/domain-exception.filter';
import { PROBLEM_BASE, wantsXml } from '../http/problem';

/**
 * The gateway's errors: everything as elsewhere (problem+json, or DAV:error for XML), plus the
 * `invalid-topics` precondition of CC/CD 70025 (draft-gajda-dav-push-00 §5.2.3.2, §6.1.2, §6.2.2):
 * `403` with a DAV:error listing the topics for XML, and for JSON an RFC 9457 problem that also
 * carries the draft's own error member `{"error": {"invalid-topics": [...]}}`.
 */
@Catch()
export class GatewayExceptionFilter extends DomainExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    if (!(exception instanceof InvalidTopicsError)) return super.catch(exception, host);
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    if (wantsXml(req)) {
      res.status(403).type('application/xml; charset=utf-8').send(buildInvalidTopicsError(exception.topics, exception.message));
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
