import type { WebPushClient } from '../support/webpush-client';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** The WebDAV-Push draft's sample `push-register` (xml/sample-push-register.xml), with a live subscription. */
export function specSampleRegister(c: WebPushClient, expires: string): string {
  return `<?xml version="1.0" encoding="utf-8" ?>
<push-register xmlns="https://bitfire.at/webdav-push" xmlns:D="DAV:">
  <subscription>
    <web-push-subscription>
      <push-resource>${esc(c.pushResource)}</push-resource>
      <content-encoding>aes128gcm</content-encoding>
      <subscription-public-key type="p256dh">${c.publicKey}</subscription-public-key>
      <auth-secret>${c.authSecret}</auth-secret>
    </web-push-subscription>
  </subscription>
  <trigger>
    <content-update>
      <D:depth>infinity</D:depth>
    </content-update>
    <property-update>
      <D:depth>0</D:depth>
      <D:prop>
        <D:displayname/>
        <D:owner/>
      </D:prop>
    </property-update>
  </trigger>
  <expires>${expires}</expires>
</push-register>
`;
}

/** What DAVx5 sends (PushRegistrationManager): prefixed elements, no trigger, no content-encoding. */
export function davx5Register(c: WebPushClient, expires: string): string {
  return (
    `<?xml version='1.0' encoding='UTF-8' ?>` +
    `<P:push-register xmlns:P="https://bitfire.at/webdav-push">` +
    `<P:subscription><P:web-push-subscription>` +
    `<P:push-resource>${esc(c.pushResource)}</P:push-resource>` +
    `<P:subscription-public-key type="p256dh">${c.publicKey}</P:subscription-public-key>` +
    `<P:auth-secret>${c.authSecret}</P:auth-secret>` +
    `</P:web-push-subscription></P:subscription>` +
    `<P:expires>${expires}</P:expires>` +
    `</P:push-register>`
  );
}
