import { describe, expect, it } from 'vitest';
import { redact } from './redact';

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
