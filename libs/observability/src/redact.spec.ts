import { describe, expect, it } from 'vitest';
import { redact, redactEndpoint } from './redact';

describe('redact', () => {
  it('is stable, short and does not contain the value', () => {
    const token = 'dpk_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
    expect(redact(token)).toBe(redact(token));
    expect(redact(token)).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(redact(token)).not.toContain('dpk_');
    expect(redact(`${token}x`)).not.toBe(redact(token));
  });

  it.each([[undefined], [null], ['']])('marks %s as absent', (v) => {
    expect(redact(v)).toBe('-');
  });
});

describe('redactEndpoint', () => {
  it('keeps the push service origin and hashes the capability path', () => {
    const url = 'https://fcm.googleapis.com/fcm/send/dXNlci1zZWNyZXQtdG9rZW4?x=1';
    const out = redactEndpoint(url);
    expect(out.startsWith('https://fcm.googleapis.com/…#sha256:')).toBe(true);
    expect(out).not.toContain('dXNlci1zZWNyZXQtdG9rZW4');
    expect(redactEndpoint(url)).toBe(out);
  });

  it('hashes whatever is not a URL', () => {
    expect(redactEndpoint('not a url')).toBe(redact('not a url'));
    expect(redactEndpoint(undefined)).toBe('-');
  });
});
