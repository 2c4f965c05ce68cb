import { describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import { startUpWarnings, vapidSubjectProblem } from './start-up-warnings';

describe('vapidSubjectProblem', () => {
  it.each([
    ['mailto:push@posteo.de', undefined],
    ['mailto:ops@calendar.university.edu', undefined],
    ['https://cal.bitfire.at', undefined],
    ['https://push.example.org/contact', 'push.example.org'],
    ['mailto:me@localhost', 'localhost'],
    ['mailto:me@example.com', 'example.com'],
    ['mailto:ops@mail.example.org', 'mail.example.org'],
    ['mailto:relay@herdr.local', 'herdr.local'],
    ['mailto:davpush@example.invalid', 'example.invalid'],
    ['mailto:root@myhost', 'myhost'],
    ['mailto:me@[127.0.0.1]', '[127.0.0.1]'],
    ['https://localhost', 'localhost'],
    ['https://localhost:8443/', 'localhost'],
    ['https://127.0.0.1', '127.0.0.1'],
    ['https://davpush.test', 'davpush.test'],
  ])('%s → %s', (subject, host) => {
    const expected =
      host &&
      `DAVPUSH_VAPID_SUBJECT ${subject} names a host push services cannot reach (${host}); Apple's push service refuses it (403 BadJwtToken); use a real mailto: address or https: URL`;
    expect(vapidSubjectProblem(subject, false)).toBe(expected);
  });

  it('names the placeholder when DAVPUSH_VAPID_SUBJECT is unset', () => {
    expect(vapidSubjectProblem('mailto:davpush@example.invalid', true)).toMatch(
      /^DAVPUSH_VAPID_SUBJECT is not set: the placeholder mailto:davpush@example.invalid is sent/,
    );
  });
});

describe('startUpWarnings', () => {
  it('warns about SSRF protection being off and an unusable subject, and nothing when both are fine', () => {
    expect(startUpWarnings(loadConfig({ DAVPUSH_VAPID_SUBJECT: 'mailto:push@posteo.de' }))).toEqual([]);
    const warnings = startUpWarnings(loadConfig({ DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS: '1' }));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS is on: SSRF protection is off/);
    expect(warnings[1]).toMatch(/^DAVPUSH_VAPID_SUBJECT is not set/);
  });
});
