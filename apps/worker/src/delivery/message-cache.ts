import {
  collapseKeyFor,
  pushMessageFor,
  WEB_PUSH_MAX_PLAINTEXT_BYTES,
  type ChangeKind,
  type PushMessage,
} from '@davpush/domain';
import { buildPushMessageWithin } from '@davpush/webdav-push';

export interface BuiltMessage {
  message: PushMessage;
  payload: string;
  collapseKey: string;
}

const MAX_ENTRIES = 2000;

/**
 * Every registration of one dispatch gets the same push-message and the same collapse key; only
 * the encryption differs per subscription (RFC 8291). Building the XML and the HMAC once per
 * dispatch instead of once per push saves a measurable share of a worker's CPU on large topics.
 * The message is kept within one Web Push record (buildPushMessageWithin: without the sync-token
 * when it would not fit), so every transport gets the same message.
 *
 * @throws ValidationError (from the builder) for a message that cannot be built or made to fit.
 */
export class MessageCache {
  private readonly entries = new Map<string, BuiltMessage>();
  /** Collapse keys by tenant, topic and kinds: the same for every change of a topic (one HMAC each). */
  private readonly collapseKeys = new Map<string, string>();

  constructor(private readonly topicKey: Buffer) {}

  get(tenantId: string, topic: string, kinds: readonly ChangeKind[], syncToken?: string): BuiltMessage {
    const topicKinds = JSON.stringify([tenantId, topic, kinds]);
    const key = `${topicKinds}${JSON.stringify(syncToken ?? null)}`;
    let hit = this.entries.get(key);
    if (!hit) {
      const { message, payload } = buildPushMessageWithin(
        pushMessageFor(topic, kinds, syncToken),
        WEB_PUSH_MAX_PLAINTEXT_BYTES,
      );
      let collapseKey = this.collapseKeys.get(topicKinds);
      if (collapseKey === undefined) {
        collapseKey = collapseKeyFor(this.topicKey, tenantId, topic, kinds);
        remember(this.collapseKeys, topicKinds, collapseKey);
      }
      hit = { message, payload, collapseKey };
      remember(this.entries, key, hit);
    }
    return hit;
  }
}

/** Insertion order is age: drops the oldest entry when full. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value!);
  map.set(key, value);
}
