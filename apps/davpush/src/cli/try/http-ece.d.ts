// Types for the part of http_ece (https://github.com/web-push-libs/encrypted-content-encoding) used here.
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto';

  interface DecryptParams {
    version: 'aes128gcm';
    /** The receiver's key pair (RFC 8291 §3.1: the user agent's ECDH key). */
    privateKey: ECDH;
    /** The 16-byte auth secret, base64url or raw. */
    authSecret: string | Buffer;
  }

  export function decrypt(buffer: Buffer, params: DecryptParams): Buffer;
}
