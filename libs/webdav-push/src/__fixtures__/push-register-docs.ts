/** Test support: push-register documents built from pieces, for the parser's tables. */

export const NS = 'https://bitfire.at/webdav-push';

/** A `subscription` holding one `web-push-subscription` with `inner`. */
export const webPush = (inner: string) =>
  `<subscription><web-push-subscription>${inner}</web-push-subscription></subscription>`;

/** A `push-register` document around `inner` (default namespace WebDAV-Push, `D:` bound to DAV:). */
export const doc = (inner: string, root = `<push-register xmlns="${NS}" xmlns:D="DAV:">`) =>
  `${root}${inner}</push-register>`;

/** The smallest Web Push subscription the parser accepts. */
export const minimalSub = webPush(`<push-resource>https://push.example/x</push-resource>`);
