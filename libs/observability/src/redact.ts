import { createHash } from 'node:crypto';

/**
 * A stable, non-reversible stand-in for a secret-ish value (push endpoint, FCM token, API key) in
 * logs and admin output: the same input always gives the same tag, so an operator can correlate
 * log lines without the value itself ever being written anywhere.
 */
export function redact(value: string | undefined | null): string {
  if (value === undefined || value === null || value === '') return '-';
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}
