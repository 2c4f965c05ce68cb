import { create } from 'xmlbuilder2';
import { SUPPORTED_TRIGGERS } from '@davpush/domain';
import { DAV_NS, DAVPUSH_NS, WEBDAV_PUSH_NS } from './namespaces';
import { text, type XMLBuilder } from './xml-writer';

export interface DiscoveryPropertiesInput {
  /** Uncompressed P-256 public key, base64url (87 characters): the VAPID `k`. */
  vapidPublicKey: string;
  topic: string;
  /** Present when the native FCM transport is configured. */
  fcm?: { projectId: string };
}

/** Serialized property elements, each standalone (own `xmlns`), for a calendar server's PROPFIND answer. */
export interface DiscoveryProperties {
  transports: string;
  topic: string;
  supportedTriggers: string;
}

/**
 * The three live properties a push-capable resource exposes (draft §"Service Detection",
 * WebDAV-Push draft "Service Detection"; README "HTTP API" `GET /v1/discovery`). They are embedded by the calendar server
 * inside its own `D:prop`, so there is no XML declaration and each element carries the namespace
 * declarations it needs: whatever prefixes the host document uses, the embedded element means the
 * same.
 *
 * - `transports`: `web-push` with `vapid-public-key type="p256ecdsa"` (DAVx5 only registers when a
 *   VAPID key is advertised: https://github.com/lennart-k/rustical/issues/221), plus our own `fcm` element in {@link DAVPUSH_NS} when
 *   FCM is on; clients skip transport elements they do not know (draft: one child per transport).
 * - `topic`: the opaque topic.
 * - `supported-triggers`: the maximum depth per trigger type, from {@link SUPPORTED_TRIGGERS}, the same
 *   table registration enforces.
 */
export function buildDiscoveryProperties(input: DiscoveryPropertiesInput): DiscoveryProperties {
  return {
    transports: buildTransports(input),
    topic: standalone((doc) => text(doc.ele(WEBDAV_PUSH_NS, 'topic'), input.topic, 'topic')),
    supportedTriggers: standalone((doc) => {
      const triggers = doc.ele(WEBDAV_PUSH_NS, 'supported-triggers', { 'xmlns:D': DAV_NS });
      triggers.ele(WEBDAV_PUSH_NS, 'content-update').ele(DAV_NS, 'D:depth').txt(SUPPORTED_TRIGGERS.contentUpdate.depth);
      triggers
        .ele(WEBDAV_PUSH_NS, 'property-update')
        .ele(DAV_NS, 'D:depth')
        .txt(SUPPORTED_TRIGGERS.propertyUpdate.depth);
    }),
  };
}

function buildTransports(input: DiscoveryPropertiesInput): string {
  return standalone((doc) => {
    const transports = doc.ele(WEBDAV_PUSH_NS, 'transports');
    const key = transports
      .ele(WEBDAV_PUSH_NS, 'web-push')
      .ele(WEBDAV_PUSH_NS, 'vapid-public-key', { type: 'p256ecdsa' });
    text(key, input.vapidPublicKey, 'vapid-public-key');
    if (input.fcm) {
      const fcm = transports.ele(DAVPUSH_NS, 'fcm');
      text(fcm.ele(DAVPUSH_NS, 'project-id'), input.fcm.projectId, 'project-id');
    }
  });
}

function standalone(fill: (doc: XMLBuilder) => unknown): string {
  const doc = create();
  fill(doc);
  return doc.end({ headless: true, prettyPrint: false });
}
