import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FCM_SCOPE,
  isTransientTokenError,
  loadServiceAccount,
  signServiceAccountJwt,
  TokenExchangeError,
} from './fcm-credentials';

const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'davpush-fcm-cred-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loadServiceAccount', () => {
  it('reads the fields firebase-admin and the JWT grant need', () => {
    const file = path.join(dir, 'sa.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        type: 'service_account',
        project_id: 'p1',
        private_key_id: 'kid1',
        private_key: pem,
        client_email: 'sa@p1.iam.gserviceaccount.com',
      }),
    );
    expect(loadServiceAccount(file)).toEqual({
      projectId: 'p1',
      clientEmail: 'sa@p1.iam.gserviceaccount.com',
      privateKey: pem,
      privateKeyId: 'kid1',
    });
  });

  it('names the variable and the file in its error', () => {
    expect(() => loadServiceAccount(dir)).toThrow(`DAVPUSH_FCM_CREDENTIALS (${dir}): is a directory`);
  });
});

describe('signServiceAccountJwt (RFC 7523 §2.1)', () => {
  const sut = signServiceAccountJwt;
  const sa = { projectId: 'p1', clientEmail: 'sa@p1.iam.gserviceaccount.com', privateKey: pem, privateKeyId: 'kid1' };

  it('is an RS256 JWT with the claims Google checks, verifiable with the public key', () => {
    const [h, c, s] = sut(sa, 'https://fcm.local/token', 1_800_000_000).split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid1' });
    expect(JSON.parse(Buffer.from(c, 'base64url').toString())).toEqual({
      iss: sa.clientEmail,
      scope: FCM_SCOPE,
      aud: 'https://fcm.local/token',
      iat: 1_800_000_000,
      exp: 1_800_003_600,
    });
    expect(crypto.verify('sha256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, 'base64url'))).toBe(true);
  });
});

describe('isTransientTokenError', () => {
  it.each<[string, unknown, boolean]>([
    ['our 400 invalid_grant', new TokenExchangeError('x', false, 400), false],
    ['our 503', new TokenExchangeError('x', true, 503), true],
    ['gaxios 400', Object.assign(new Error('invalid_grant'), { response: { status: 400 } }), false],
    ['gaxios 500', Object.assign(new Error('x'), { response: { status: 500 } }), true],
    ['gaxios 429', Object.assign(new Error('x'), { response: { status: 429 } }), true],
    ['socket error', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), true],
    ['anything else', new Error('no private key'), false],
  ])('%s → %s', (_name, err, expected) => expect(isTransientTokenError(err)).toBe(expected));
});
