import { isIP } from 'node:net';
import type { AppConfig } from '@davpush/config';

/**
 * Host names no push service can reach or resolve: loopback, the names RFC 2606 and RFC 6761
 * reserve (example.*, *.test, *.invalid, *.localhost), mDNS `.local` (RFC 6762), and IP literals.
 */
function isUnreachableContactHost(host: string): boolean {
  const h = host
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[|\]$/g, '');
  if (isIP(h)) return true;
  if (h === 'localhost' || !h.includes('.')) return true;
  if (/^example\.(com|net|org)$/.test(h) || /\.example\.(com|net|org)$/.test(h)) return true;
  return /\.(example|test|invalid|localhost|local)$/.test(h);
}

/**
 * Why push services would refuse this VAPID `sub` claim, or undefined when it looks usable.
 * Apple's push service answers `403 BadJwtToken` for a subject at localhost or another host it
 * cannot resolve, for `mailto:` and `https:` alike (https://github.com/web-push-libs/web-push/issues/947,
 * https://github.com/web-push-libs/web-push/pull/787); RFC 8292 §2.1 asks for a contact the push
 * service can actually use.
 */
export function vapidSubjectProblem(subject: string, isPlaceholder: boolean): string | undefined {
  if (isPlaceholder)
    return `DAVPUSH_VAPID_SUBJECT is not set: the placeholder ${subject} is sent, and Apple's push service refuses it (403 BadJwtToken); set a real mailto: or https: contact`;
  let host: string;
  try {
    const u = new URL(subject);
    host = u.protocol === 'mailto:' ? decodeURIComponent(u.pathname).split('@').pop()!.split('?')[0]! : u.hostname;
  } catch {
    return undefined; // the env schema already checked the form
  }
  if (!isUnreachableContactHost(host)) return undefined;
  return `DAVPUSH_VAPID_SUBJECT ${subject} names a host push services cannot reach (${host}); Apple's push service refuses it (403 BadJwtToken); use a real mailto: address or https: URL`;
}

/** The settings worth a warning at every start: each a one-line message. */
export function startUpWarnings(config: AppConfig): string[] {
  const warnings: string[] = [];
  if (config.allowPrivatePushEndpoints) {
    warnings.push(
      'DAVPUSH_ALLOW_PRIVATE_PUSH_ENDPOINTS is on: SSRF protection is off; push resources on loopback and private addresses and plain http: are accepted (docs/security.md). Keep it off in production.',
    );
  }
  const subject = vapidSubjectProblem(config.vapid.subject, config.vapid.subjectIsPlaceholder);
  if (subject) warnings.push(subject);
  return warnings;
}
