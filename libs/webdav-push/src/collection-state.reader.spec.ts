import { describe, expect, it } from 'vitest';
import { readCollectionState } from './collection-state.reader';

const answer = (props: string, status = 'HTTP/1.1 200 OK') =>
  `<?xml version="1.0"?><multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/"><response><href>/a/</href><propstat><prop>${props}</prop><status>${status}</status></propstat><propstat><prop><CS:getctag/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response></multistatus>`;

describe('readCollectionState', () => {
  it.each([
    [
      'a calendar with a sync-token',
      answer(
        '<resourcetype><collection/><C:calendar/></resourcetype><sync-token> http://radicale.org/ns/sync/abc </sync-token>',
      ),
      { pushCapable: true, syncToken: 'http://radicale.org/ns/sync/abc' },
    ],
    [
      'an address book with a ctag',
      answer(
        '<resourcetype><collection/><CR:addressbook xmlns:CR="urn:ietf:params:xml:ns:carddav"/></resourcetype><CS:getctag>7</CS:getctag>',
      ),
      { pushCapable: true, ctag: '7' },
    ],
    ['a plain collection', answer('<resourcetype><collection/></resourcetype>'), { pushCapable: false }],
    [
      'props only in a non-200 propstat',
      answer('<resourcetype><C:calendar/></resourcetype>', 'HTTP/1.1 403 Forbidden'),
      { pushCapable: false },
    ],
  ])('%s', (_what, xml, expected) => {
    expect(readCollectionState(xml)).toEqual(expected);
  });

  it.each([
    ['not XML', 'oops'],
    ['no multistatus', '<error xmlns="DAV:"/>'],
    ['no response', '<multistatus xmlns="DAV:"/>'],
  ])('%s → undefined', (_what, xml) => {
    expect(readCollectionState(xml)).toBeUndefined();
  });
});
