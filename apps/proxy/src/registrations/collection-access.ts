import type { ServerResponse } from 'node:http';
import { PreconditionFailedError } from '@davpush/domain';
import type { CollectionState } from '@davpush/webdav-push';
import { sendText } from '../http/dav-answer';
import type { UpstreamClient } from '../upstream/upstream.client';

/** What the DAV server said of the client's credentials on a collection. */
export type CollectionAccess =
  | { kind: 'unauthorized'; wwwAuthenticate: string | string[] | undefined }
  | { kind: 'readable'; state: CollectionState };

/**
 * Whether the client may subscribe to the collection at `path`, as the DAV server decides: a
 * Depth-0 PROPFIND with the client's `Authorization` (so only a user who may read it can).
 * @throws PreconditionFailedError `push-not-available` when the server refuses it otherwise
 *   (`403`, `404`, …) or it is no calendar or address book.
 */
export async function collectionAccess(
  upstream: UpstreamClient,
  path: string,
  authorization: string | undefined,
): Promise<CollectionAccess> {
  const read = await upstream.collectionState(path, authorization);
  if (read.status === 401) return { kind: 'unauthorized', wwwAuthenticate: read.wwwAuthenticate };
  if (read.status !== 207 || !read.state)
    throw new PreconditionFailedError('push-not-available', `the DAV server answered ${read.status} for this resource`);
  if (!read.state.pushCapable)
    throw new PreconditionFailedError('push-not-available', 'push is offered on calendars and address books only');
  return { kind: 'readable', state: read.state };
}

/** The DAV server's `401`, relayed with its `WWW-Authenticate`. */
export function relayUnauthorized(res: ServerResponse, wwwAuthenticate: string | string[] | undefined): void {
  sendText(
    res,
    401,
    'the DAV server did not accept these credentials\n',
    wwwAuthenticate ? { 'www-authenticate': wwwAuthenticate as string } : {},
  );
}
