import { describe, expect, it } from 'vitest';
import { changedCollections } from './changed-collections';

describe('changedCollections', () => {
  const known = (p: string) => p === '/alice/cal/';
  it.each([
    ['PUT', '/alice/cal/e.ics', 201, {}, [{ path: '/alice/cal/', kind: 'content' }]],
    ['PUT', '/alice/cal/e.ics', 412, {}, []],
    [
      'PUT',
      '/alice/cal/',
      201,
      {},
      [
        { path: '/alice/cal/', kind: 'content' },
        { path: '/alice/', kind: 'content' },
      ],
    ],
    ['DELETE', '/alice/cal/e.ics', 204, {}, [{ path: '/alice/cal/', kind: 'content' }]],
    [
      'DELETE',
      '/alice/cal',
      200,
      { isCollection: known },
      [
        { path: '/alice/cal/', kind: 'content', deleted: true },
        { path: '/alice/', kind: 'content' },
      ],
    ],
    ['DELETE', '/alice/cal/', 404, {}, []],
    [
      'MOVE',
      '/alice/a/e.ics',
      201,
      { destination: '/alice/b/e.ics' },
      [
        { path: '/alice/a/', kind: 'content' },
        { path: '/alice/b/', kind: 'content' },
      ],
    ],
    ['MOVE', '/alice/a/e.ics', 201, { destination: '/alice/a/f.ics' }, [{ path: '/alice/a/', kind: 'content' }]],
    ['COPY', '/alice/a/e.ics', 201, { destination: '/alice/b/e.ics' }, [{ path: '/alice/b/', kind: 'content' }]],
    ['MKCALENDAR', '/alice/new/', 201, {}, [{ path: '/alice/', kind: 'content' }]],
    ['PROPPATCH', '/alice/cal/', 207, {}, [{ path: '/alice/cal/', kind: 'property' }]],
    ['PROPPATCH', '/alice/cal', 207, { isCollection: known }, [{ path: '/alice/cal/', kind: 'property' }]],
    ['POST', '/alice/cal/', 201, {}, [{ path: '/alice/cal/', kind: 'content' }]],
    ['GET', '/alice/cal/', 200, {}, []],
  ])('%s %s → %s', (method, path, status, opts, expected) => {
    expect(changedCollections(method, path, status, opts)).toEqual(expected);
  });
});
