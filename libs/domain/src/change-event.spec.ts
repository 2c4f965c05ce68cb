import { describe, expect, it } from 'vitest';
import { coalesce as sut, type ChangeEvent } from './change-event';

const ev = (over: Partial<ChangeEvent>): ChangeEvent => ({
  id: 'e',
  tenantId: 't',
  topic: 'T',
  changes: ['content'],
  urgency: 'normal',
  ttl: 60,
  dontNotify: [],
  receivedAt: 1000,
  ...over,
});

describe('coalesce', () => {
  it('keeps the newest sync-token, the union of kinds and the highest urgency', () => {
    const r = sut([
      ev({ id: 'a', syncToken: 's1', receivedAt: 1, changes: ['property'], urgency: 'low' }),
      ev({ id: 'c', syncToken: 's3', receivedAt: 3 }),
      ev({ id: 'b', syncToken: 's2', receivedAt: 2, urgency: 'high' }),
    ])!;
    expect(r.syncToken).toBe('s3');
    expect(r.changes).toEqual(['content', 'property']);
    expect(r.urgency).toBe('high');
    expect(r.eventIds).toEqual(['a', 'b', 'c']);
    expect(r.deadline).toBe(3 + 60_000);
  });

  it('skips only registrations every merged event asked to skip', () => {
    expect(sut([ev({ dontNotify: ['r1', 'r2'] }), ev({ dontNotify: ['r2'] })])!.dontNotify).toEqual(['r2']);
    expect(sut([ev({ dontNotify: '*' }), ev({ dontNotify: ['r2'] })])!.dontNotify).toEqual(['r2']);
    expect(sut([ev({ dontNotify: '*' })])!.dontNotify).toBe('*');
    expect(sut([ev({ dontNotify: '*' }), ev({ dontNotify: [] })])!.dontNotify).toEqual([]);
  });

  it('keeps an earlier sync-token when the newest event has none', () => {
    expect(sut([ev({ syncToken: 's1', receivedAt: 1 }), ev({ receivedAt: 2, changes: ['property'] })])!.syncToken).toBe(
      's1',
    );
  });

  it('returns nothing for no events', () => expect(sut([])).toBeUndefined());
});
