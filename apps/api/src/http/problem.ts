import type { Request, Response } from 'express';
import type { Precondition } from '@davpush/domain';
import { buildDavError, buildDavErrorMessage } from '@davpush/webdav-push';

export const PROBLEM_BASE = 'https://davpush.dev/problems/';

/** XML requests (WebDAV-Push documents) get DAV:error bodies, everything else RFC 9457 problem+json. */
export const wantsXml = (req: Request): boolean => /(^|[/+])xml\b/i.test(String(req.headers['content-type'] ?? ''));

/** The DAV:error body of an XML request's error: its precondition element, if any, and the description. */
export type DavErrorBuilder = (precondition: Precondition | undefined, detail: string) => string;

/** WebDAV-Push's DAV:error (preconditions in `https://bitfire.at/webdav-push`). */
export const webDavPushError: DavErrorBuilder = (precondition, detail) =>
  precondition ? buildDavError(precondition, detail) : buildDavErrorMessage(detail);

export function writeProblem(
  req: Request,
  res: Response,
  status: number,
  title: string,
  detail: string,
  precondition?: Precondition,
  extraHeaders: Record<string, string> = {},
  /** A more specific problem type than the precondition (e.g. `registration-limit`). */
  problemType?: string,
  /** How to answer in XML; null answers problem+json whatever the request was. */
  davError: DavErrorBuilder | null = wantsXml(req) ? webDavPushError : null,
): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  if (davError) {
    res.status(status).type('application/xml; charset=utf-8').send(davError(precondition, detail));
    return;
  }
  const type = PROBLEM_BASE + (problemType ?? precondition ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-'));
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type, title, status, detail, ...(precondition ? { precondition } : {}) }));
}
