/**
 * XML namespaces of the WebDAV-Push codec.
 *
 * WebDAV-Push moved from `DAV:Push` (2024-06) to `https://bitfire.at/webdav-push` (2024-11); clients
 * match the namespace exactly (https://github.com/bitfireAT/davx5-ose/issues/1493), so only the current one is read or written
 * (reference webdav-push-and-gateways.md §1.1).
 */
export const WEBDAV_PUSH_NS = 'https://bitfire.at/webdav-push';

/** RFC 4918 §21.1: `depth`, `prop`, `sync-token` (RFC 6578), `error`, `responsedescription`. */
export const DAV_NS = 'DAV:';

/**
 * Our own namespace for what the draft leaves to "other transports": the native FCM subscription
 * element in `push-register` and the `fcm` child of `transports` (draft §"Push Transports" allows
 * transport definitions to add elements; they must not squat on the WebDAV-Push namespace).
 */
export const DAVPUSH_NS = 'https://davpush.dev/ns';

/**
 * CalConnect CC/CD 70025 (draft-gajda-dav-push-00 §10.1): the discovery properties and the client's
 * `subscribe` document (docs/cc70025.md).
 */
export const CC_PUSH_NS = 'urn:ietf:params:xml:ns:dav-push';
