import type { ChangeKind } from '@davpush/domain';

/** A collection a successful write changed. */
export interface CollectionChange {
  /** Decoded path of the collection, with a trailing slash. */
  path: string;
  kind: ChangeKind;
  /** The collection itself was deleted: a last push, then its registrations go. */
  deleted?: boolean;
}

const parentOf = (path: string): string => {
  const trimmed = path.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  return i <= 0 ? '/' : `${trimmed.slice(0, i)}/`;
};

const asCollection = (path: string): string => (path.endsWith('/') ? path : `${path}/`);

/**
 * Which collections a write changed, once the DAV server answered it with a 2xx (RFC 4918 §9;
 * PROPPATCH answers 207). `isCollection` tells whether a path without a trailing slash names a
 * collection the proxy knows (a collection DELETE need not end in `/`).
 *
 * | method | changed |
 * |---|---|
 * | PUT, DELETE of an object; POST (RFC 5995 add-member, scheduling outbox) | the parent, content |
 * | PUT of a collection (Radicale replaces a whole calendar) | the collection and its parent, content |
 * | DELETE of a collection | the collection (deleted) and its parent, content |
 * | MOVE, COPY | the parents of source (MOVE only) and destination, content |
 * | MKCOL, MKCALENDAR | the parent, content |
 * | PROPPATCH | the resource itself if a collection, else its parent, property |
 */
export function changedCollections(
  method: string,
  path: string,
  status: number,
  opts: { destination?: string; isCollection?: (path: string) => boolean } = {},
): CollectionChange[] {
  if (status < 200 || status > 299) return [];
  const collection = path.endsWith('/') || (opts.isCollection?.(asCollection(path)) ?? false);
  switch (method) {
    case 'PUT':
      return collection
        ? [
            { path: asCollection(path), kind: 'content' },
            { path: parentOf(path), kind: 'content' },
          ]
        : [{ path: parentOf(path), kind: 'content' }];
    case 'DELETE':
      return collection
        ? [
            { path: asCollection(path), kind: 'content', deleted: true },
            { path: parentOf(path), kind: 'content' },
          ]
        : [{ path: parentOf(path), kind: 'content' }];
    case 'POST':
      return [{ path: collection ? asCollection(path) : parentOf(path), kind: 'content' }];
    case 'MOVE':
    case 'COPY': {
      const out: CollectionChange[] = method === 'MOVE' ? [{ path: parentOf(path), kind: 'content' }] : [];
      if (opts.destination) out.push({ path: parentOf(opts.destination), kind: 'content' });
      return dedupe(out);
    }
    case 'MKCOL':
    case 'MKCALENDAR':
      return [{ path: parentOf(path), kind: 'content' }];
    case 'PROPPATCH':
      return [{ path: collection ? asCollection(path) : parentOf(path), kind: 'property' }];
    default:
      return [];
  }
}

function dedupe(changes: CollectionChange[]): CollectionChange[] {
  return changes.filter((c, i) => changes.findIndex((d) => d.path === c.path && d.kind === c.kind) === i);
}

/** Methods whose success changes a collection (and so get change detection). */
export const WRITE_METHODS = new Set(['PUT', 'DELETE', 'POST', 'MOVE', 'COPY', 'MKCOL', 'MKCALENDAR', 'PROPPATCH']);
