import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PreconditionFailedError, ValidationError } from './errors';
import {
  grantExpiry,
  validateRegistrationRequest as sut,
  type RegistrationPolicy,
  type RegistrationRequest,
} from './registration';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const publicKey = ecdh.getPublicKey('base64url');
const authSecret = randomBytes(16).toString('base64url');
const now = Date.parse('2026-11-21T12:00:00Z');
const policy: RegistrationPolicy = { now, maxExpirySeconds: 7 * 86400, transports: ['web-push'], allowHttp: false };

const webPush = (over: Record<string, string | undefined> = {}): RegistrationRequest => ({
  subscription: { type: 'web-push', pushResource: 'https://push.example.net/p/abc', publicKey, authSecret, ...over },
});

function preconditionOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof PreconditionFailedError) return e.precondition;
    if (e instanceof ValidationError) return 'validation';
    throw e;
  }
  return undefined;
}

describe('validateRegistrationRequest', () => {
  it('accepts DAVx5 form: no trigger, no content-encoding → content-update depth 1, aes128gcm, max expiry', () => {
    const r = sut(webPush(), policy);
    expect(r.subscription).toMatchObject({ type: 'web-push', contentEncoding: 'aes128gcm', publicKey, authSecret });
    expect(r.trigger).toEqual({ contentUpdate: { depth: '1' } });
    expect(r.expiresAt).toBe(now + 7 * 86400 * 1000);
  });

  it.each([
    ['missing subscription', { trigger: undefined } as RegistrationRequest, 'invalid-subscription'],
    ['unknown transport', { subscription: { type: 'unknown' } } as RegistrationRequest, 'invalid-subscription'],
    ['missing push-resource', webPush({ pushResource: undefined }), 'invalid-subscription'],
    ['relative push-resource', webPush({ pushResource: '/push/abc' }), 'invalid-subscription'],
    ['http push-resource', webPush({ pushResource: 'http://push.example.net/x' }), 'invalid-subscription'],
    ['credentials in URL', webPush({ pushResource: 'https://u:p@push.example.net/x' }), 'invalid-subscription'],
    ['key too short', webPush({ publicKey: Buffer.alloc(33, 4).toString('base64url') }), 'invalid-subscription'],
    ['key not base64url', webPush({ publicKey: 'not a key!' }), 'invalid-subscription'],
    ['auth 15 bytes', webPush({ authSecret: randomBytes(15).toString('base64url') }), 'invalid-subscription'],
    ['aesgcm encoding', webPush({ contentEncoding: 'aesgcm' }), 'invalid-subscription'],
    ['key type p384', webPush({ publicKeyType: 'p384' }), 'invalid-subscription'],
    [
      'fcm not configured',
      { subscription: { type: 'fcm', token: 'abc' } } as RegistrationRequest,
      'push-not-available',
    ],
    ['empty trigger', { ...webPush(), trigger: {} }, 'no-supported-trigger'],
    ['bad depth', { ...webPush(), trigger: { contentUpdate: { depth: '7' } } }, 'validation'],
    ['bad expires', { ...webPush(), expires: 'tomorrow' }, 'validation'],
  ])('refuses %s', (_name, request, expected) => {
    expect(preconditionOf(() => sut(request, policy))).toBe(expected);
  });

  describe('encoded values are accepted as clients write them and stored in one form', () => {
    // A key and secret whose standard encodings contain `+` and `/` (found by search, fixed here).
    const std = { publicKey: '', authSecret: '' };
    for (let i = 0; !/[+/]/.test(std.publicKey) || !/[+/]/.test(std.authSecret); i++) {
      const e = createECDH('prime256v1');
      e.generateKeys();
      std.publicKey = e.getPublicKey('base64');
      std.authSecret = randomBytes(16).toString('base64');
    }
    const canonical = (b64: string) => Buffer.from(b64, 'base64').toString('base64url');

    it.each([
      ['standard base64 with padding', std.publicKey, std.authSecret],
      ['standard base64 without padding', std.publicKey.replace(/=+$/, ''), std.authSecret.replace(/=+$/, '')],
      ['base64url with padding', `${canonical(std.publicKey)}=`, `${canonical(std.authSecret)}==`],
      [
        'wrapped at 76 characters with a trailing newline (Android Base64.DEFAULT)',
        `${std.publicKey.slice(0, 76)}\n${std.publicKey.slice(76)}\n`,
        `${std.authSecret}\n`,
      ],
      [
        'pretty-printed XML text',
        `\n    ${std.publicKey.slice(0, 40)}\n    ${std.publicKey.slice(40)}\n  `,
        `\n    ${std.authSecret}\n  `,
      ],
    ])('%s → stored as unpadded base64url', (_name, key, secret) => {
      const r = sut(webPush({ publicKey: key, authSecret: secret }), policy);
      expect(r.subscription).toMatchObject({
        publicKey: canonical(std.publicKey),
        authSecret: canonical(std.authSecret),
      });
    });

    it('FCM tokens lose the whitespace pretty-printing put in, and nothing else', () => {
      const token = 'dGVzdA:APA91bH-x_y'.padEnd(160, 'z');
      const r = sut(
        { subscription: { type: 'fcm', token: `\n   ${token.slice(0, 80)}\n   ${token.slice(80)}\n` } },
        { ...policy, transports: ['fcm'] },
      );
      expect(r.subscription).toEqual({ type: 'fcm', token });
    });
  });

  it("names the fields as the client's document does", () => {
    const json = { pushResource: 'subscription.pushResource', publicKey: 'keys.p256dh', authSecret: 'keys.auth' };
    const messageOf = (req: RegistrationRequest) => {
      try {
        sut(req, policy);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(messageOf(webPush({ publicKey: 'abc' }))).toMatch(/^subscription-public-key must be/);
    expect(messageOf({ ...webPush({ publicKey: 'abc' }), fieldNames: json })).toMatch(/^keys\.p256dh must be/);
    expect(messageOf({ ...webPush({ authSecret: undefined }), fieldNames: json })).toBe('keys.auth is missing');
    expect(messageOf({ ...webPush({ pushResource: 'ftp://x' }), fieldNames: json })).toMatch(
      /^subscription\.pushResource must be an https URL/,
    );
  });

  it('lowers an over-deep property-update depth and keeps content-update infinity', () => {
    const r = sut(
      {
        ...webPush(),
        trigger: { contentUpdate: { depth: 'infinity' }, propertyUpdate: { depth: '1', props: ['{DAV:}displayname'] } },
      },
      policy,
    );
    expect(r.trigger).toEqual({
      contentUpdate: { depth: 'infinity' },
      propertyUpdate: { depth: '0', props: ['{DAV:}displayname'] },
    });
  });

  it('accepts http push resources only where private endpoints are allowed', () => {
    expect(
      sut(webPush({ pushResource: 'http://127.0.0.1:9/x' }), { ...policy, allowHttp: true }).subscription,
    ).toMatchObject({ pushResource: 'http://127.0.0.1:9/x' });
  });
});

describe('grantExpiry', () => {
  it.each([
    ['absent → max', undefined, now + 7 * 86400_000],
    ['3 days ahead honoured (IMF-fixdate)', new Date(now + 3 * 86400_000).toUTCString(), now + 3 * 86400_000],
    ['3 days ahead honoured (RFC 3339)', new Date(now + 3 * 86400_000).toISOString(), now + 3 * 86400_000],
    ['1 year ahead clamped', new Date(now + 365 * 86400_000).toUTCString(), now + 7 * 86400_000],
    ['past → max', new Date(now - 1000).toUTCString(), now + 7 * 86400_000],
  ])('%s', (_n, requested, expected) => {
    expect(grantExpiry(requested, policy)).toBe(expected);
  });
});
