import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64Lenient as sut } from './base64';

/** 16 bytes whose encodings contain both `+`/`-` and `/`/`_` (0xfb 0xff → "-_8" / "+/8"). */
const bytes = Buffer.from('fbff00fbfffe0102030405060708090a', 'hex');
const url = bytes.toString('base64url');
const std = bytes.toString('base64');

describe('decodeBase64Lenient', () => {
  it('the sample value really differs between the alphabets', () => {
    expect(url).toMatch(/[-_]/);
    expect(std).toMatch(/[+/]/);
    expect(std).toMatch(/=$/);
  });

  it.each([
    ['base64url without padding', url],
    ['base64url with padding', `${url}==`],
    ['standard base64 with padding (btoa)', std],
    ['standard base64 without padding', std.replace(/=+$/, '')],
    ['both alphabets mixed', `${std.slice(0, 2)}${url.slice(2)}`],
    ['wrapped lines (Android Base64.DEFAULT: trailing newline)', `${std}\n`],
    ['CRLF-wrapped (MIME)', `${std.slice(0, 10)}\r\n${std.slice(10)}\r\n`],
    ['XML pretty-printing', `\n      ${std.slice(0, 12)}\n      ${std.slice(12)}\n    `],
    ['tabs and spaces', ` \t${url}\t `],
  ])('decodes %s to the same bytes', (_name, value) => {
    expect(sut(value)?.equals(bytes)).toBe(true);
  });

  it('round-trips random keys in both alphabets', () => {
    for (let i = 0; i < 200; i++) {
      const b = randomBytes(i % 2 ? 65 : 16);
      expect(sut(b.toString('base64'))?.equals(b)).toBe(true);
      expect(sut(b.toString('base64url'))?.equals(b)).toBe(true);
    }
  });

  it.each([
    ['empty', ''],
    ['whitespace only', ' \n '],
    ['padding only', '=='],
    ['characters of neither alphabet', `${url.slice(0, -1)}!`],
    ['percent-encoding', `${url.slice(0, -2)}%2B`],
    ['padding in the middle', `${std.slice(0, 4)}=${std.slice(4)}`],
    ['too much padding', `${std}=`],
    ['padding where none belongs', `${Buffer.alloc(3).toString('base64')}=`],
    ['a length no encoder produces (4n+1)', 'AAAAA'],
    ['non-ASCII whitespace', `${url.slice(0, 4)}\u00a0${url.slice(4)}`],
    ['undefined', undefined],
  ])('refuses %s', (_name, value) => {
    expect(sut(value)).toBeUndefined();
  });
});
