import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { unsupportedContentCodings as sut } from './content-encoding';

const req = (value?: string) =>
  ({ headers: value === undefined ? {} : { 'content-encoding': value } }) as unknown as IncomingMessage;

describe('unsupportedContentCodings (RFC 9110 §8.4)', () => {
  it.each([
    ['no header', undefined, []],
    ['identity', 'identity', []],
    ['Identity, any case', 'IDENTITY', []],
    ['gzip', 'gzip', ['gzip']],
    ['br', 'br', ['br']],
    ['a list', 'gzip, identity, deflate', ['gzip', 'deflate']],
    ['an unknown coding', 'x-whatever', ['x-whatever']],
  ])('%s', (_what, value, expected) => {
    expect(sut(req(value))).toEqual(expected);
  });
});
