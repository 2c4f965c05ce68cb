import type { Element } from '@xmldom/xmldom';
import { ValidationError, type RawTrigger, type RegistrationRequest } from '@davpush/domain';
import { DAV_NS, DAVPUSH_NS, WEBDAV_PUSH_NS } from './namespaces';
import { elementChildren, parseBoundedXml } from './xml-reader';

/** README "HTTP API": a registration body over 16 KiB is refused. A real one is under 1 KiB. */
export const MAX_PUSH_REGISTER_BYTES = 16 * 1024;
/** `push-register` is five levels deep at most; 32 leaves room for extensions, not for stack games. */
const MAX_ELEMENT_DEPTH = 32;
/** The longest legitimate value is a push resource URL (UnifiedPush caps endpoints at 1000 bytes). */
const MAX_TEXT_NODE_BYTES = 8 * 1024;

const ROOT_ERROR = `root element must be push-register in namespace ${WEBDAV_PUSH_NS}`;

/**
 * Reads a WebDAV-Push `push-register` body (WebDAV-Push draft, "Subscription Registration": https://github.com/bitfireAT/webdav-push) into
 * the raw {@link RegistrationRequest}. Only the shape is judged here; whether the values are usable
 * (URL, key lengths, depths) is `validateRegistrationRequest` in @davpush/domain.
 *
 * Elements are matched by (namespace, local name) only, so any prefix or a default namespace works.
 * Unknown elements are ignored anywhere (the draft has changed element names often: see the history of https://github.com/bitfireAT/webdav-push),
 * but a known single-valued element that appears twice is refused: two `push-resource`s would let
 * two readers of the same body disagree about where the pushes go.
 *
 * @throws ValidationError for anything that is not a well-formed, bounded `push-register` document.
 */
export function parsePushRegister(xml: string): RegistrationRequest {
  const root = parseBounded(xml);
  checkRoot(root);
  return {
    subscription: readSubscription(root),
    trigger: readTrigger(single(root, WEBDAV_PUSH_NS, 'trigger')),
    expires: textOf(single(root, WEBDAV_PUSH_NS, 'expires')),
  };
}

/**
 * docs/security.md "Hostile input": nothing a client sends is ever evaluated as XML entities; bodies are capped
 * (see {@link parseBoundedXml}).
 */
export function parseBounded(xml: string): Element {
  return parseBoundedXml(xml, {
    what: 'push-register body',
    maxBytes: MAX_PUSH_REGISTER_BYTES,
    maxDepth: MAX_ELEMENT_DEPTH,
    maxTextBytes: MAX_TEXT_NODE_BYTES,
  }).documentElement!;
}

/**
 * Only the current namespace is accepted (https://github.com/bitfireAT/davx5-ose/issues/1493). Documents in `DAV:Push` (2024-06) or in
 * `bitfire.at/webdav-push` without a scheme are from drafts no client should speak any more, and
 * silently accepting them would hide the client's bug; say so in the answer instead.
 */
function checkRoot(root: Element): void {
  if (root.localName === 'push-register' && root.namespaceURI !== WEBDAV_PUSH_NS) {
    const got = root.namespaceURI === null ? 'no namespace' : `namespace ${JSON.stringify(root.namespaceURI)}`;
    throw new ValidationError(
      `${ROOT_ERROR}, not ${got} (the older draft namespaces DAV:Push and bitfire.at/webdav-push without https:// are not accepted)`,
    );
  }
  if (root.namespaceURI !== WEBDAV_PUSH_NS || root.localName !== 'push-register') {
    throw new ValidationError(`${ROOT_ERROR}, not ${clark(root)}`);
  }
}

/**
 * Draft: `subscription` holds exactly one transport-specific element. Only `web-push-subscription`
 * is defined by the draft; `fcm-subscription` is our extension in {@link DAVPUSH_NS}. A subscription
 * naming only transports we do not know is `{type:'unknown'}`, which the domain answers with the
 * `invalid-subscription` precondition rather than a 400.
 */
function readSubscription(root: Element): RegistrationRequest['subscription'] {
  const subscription = single(root, WEBDAV_PUSH_NS, 'subscription');
  if (!subscription) return undefined;
  const webPush = children(subscription, WEBDAV_PUSH_NS, 'web-push-subscription');
  const fcm = children(subscription, DAVPUSH_NS, 'fcm-subscription');
  if (webPush.length + fcm.length > 1) {
    throw new ValidationError('push-register must contain exactly one subscription, not several');
  }
  if (webPush[0]) {
    const el = webPush[0];
    // `client-public-key` is the pre-2025 name (draft history, sample-push-register.xml before ae6c5a4).
    const publicKey =
      single(el, WEBDAV_PUSH_NS, 'subscription-public-key') ?? single(el, WEBDAV_PUSH_NS, 'client-public-key');
    return {
      type: 'web-push',
      pushResource: textOf(single(el, WEBDAV_PUSH_NS, 'push-resource')),
      contentEncoding: textOf(single(el, WEBDAV_PUSH_NS, 'content-encoding')),
      publicKey: textOf(publicKey),
      publicKeyType: publicKey?.hasAttribute('type') ? publicKey.getAttribute('type')!.trim() : undefined,
      authSecret: textOf(single(el, WEBDAV_PUSH_NS, 'auth-secret')),
    };
  }
  if (fcm[0]) return { type: 'fcm', token: textOf(single(fcm[0], DAVPUSH_NS, 'token')) };
  return { type: 'unknown' };
}

/**
 * Draft §"Subscription Registration": `trigger` may hold `content-update` and/or `property-update`,
 * each with a `{DAV:}depth`; `property-update` may list properties in `{DAV:}prop`. Pre-2025 drafts
 * used `{DAV:}sync-level`; it is ignored, so the domain's default depth applies. An empty trigger
 * stays `{}` so the domain can answer `no-supported-trigger`.
 */
function readTrigger(trigger: Element | undefined): RawTrigger | undefined {
  if (!trigger) return undefined;
  const raw: RawTrigger = {};
  const content = single(trigger, WEBDAV_PUSH_NS, 'content-update');
  if (content) raw.contentUpdate = { depth: textOf(single(content, DAV_NS, 'depth')) };
  const property = single(trigger, WEBDAV_PUSH_NS, 'property-update');
  if (property) {
    raw.propertyUpdate = { depth: textOf(single(property, DAV_NS, 'depth')) };
    const prop = single(property, DAV_NS, 'prop');
    if (prop) raw.propertyUpdate.props = elementChildren(prop).map(clark);
  }
  return raw;
}

export function children(parent: Element, ns: string, localName: string): Element[] {
  return elementChildren(parent).filter((el) => el.namespaceURI === ns && el.localName === localName);
}

export function single(parent: Element, ns: string, localName: string): Element | undefined {
  const found = children(parent, ns, localName);
  if (found.length > 1) {
    throw new ValidationError(
      localName === 'subscription'
        ? 'push-register must contain exactly one subscription, not several'
        : `${parent.localName} must contain at most one ${localName}`,
    );
  }
  return found[0];
}

export function textOf(el: Element | undefined): string | undefined {
  return el ? (el.textContent ?? '').trim() : undefined;
}

/** Clark notation `{namespace}local`, the domain's property-name form; no namespace → `local`. */
function clark(el: Element): string {
  return el.namespaceURI ? `{${el.namespaceURI}}${el.localName}` : (el.localName ?? el.nodeName);
}
