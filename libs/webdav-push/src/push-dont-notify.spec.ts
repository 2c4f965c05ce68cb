import { describe, expect, it } from 'vitest';
import { parsePushDontNotify } from './push-dont-notify';

const A = 'https://push.example/v1/registrations/AAAAAAAAAAAAAAAAAAAAAA';
const B = 'https://push.example/v1/registrations/BBBBBBBBBBBBBBBBBBBBBB';

describe('parsePushDontNotify', () => {
  it.each([
    ['quoted, as DAVx5 sends it', [`"${A}"`], [A]],
    ['optional whitespace around the element', [`  "${A}"\t`], [A]],
    ['a list in one line', [`"${A}", "${B}"`], [A, B]],
    ['a list without spaces', [`"${A}","${B}"`], [A, B]],
    ['several header lines', [`"${A}"`, `"${B}"`], [A, B]],
    ['unquoted (lenient)', [A], [A]],
    ['a comma inside quotes stays in the value', ['"https://x.example/a,b"'], ['https://x.example/a,b']],
    ['quoted-pair unescaped', ['"https://x.example/\\"q\\""'], ['https://x.example/"q"']],
    ['duplicates collapse', [`"${A}", "${A}"`], [A]],
    ['empty elements ignored (RFC 9110 §5.6.1)', [` , "${A}" ,, `], [A]],
    ['unterminated quote ignored', [`"${A}`], []],
    ['garbage with spaces ignored', ['not a url'], []],
    ['undefined lines skipped', [undefined, `"${A}"`], [A]],
  ])('%s', (_name, lines, expected) => {
    expect(parsePushDontNotify(lines)).toEqual(expected);
  });

  it.each([[['*']], [[' * ']], [['\r\n *']], [[undefined, '*']]])(
    'a field whose sole element is `*` means every registration: %j',
    (lines) => {
      expect(parsePushDontNotify(lines)).toBe('*');
    },
  );

  // `1#(quoted-registration-url) / "*"`: a `*` in a list is an invalid element, ignored; the URLs count.
  it.each([
    ['`*` after a URL', [`"${A}", *`], [A]],
    ['`*` before a URL', [`*, "${A}"`], [A]],
    ['`*` on a line of its own beside a URL line', [`"${A}"`, '*'], [A]],
    ['`*` twice', ['*, *'], []],
    ['a CRLF inside the value (obs-fold)', [`"${A}",\r\n "${B}"`], [A, B]],
    ['a bare LF before the next element', [`"${A}",\n"${B}"`], [A, B]],
    ['CR LF around an unquoted URL', [`\r\n${A}\r\n`], [A]],
  ])('%s', (_name, lines, expected) => {
    expect(parsePushDontNotify(lines)).toEqual(expected);
  });
});
