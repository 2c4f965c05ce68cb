import { describe, expect, it } from 'vitest';
import { parseRfc3339 as sut } from './rfc3339';

describe('parseRfc3339 (RFC 3339 §5.6 grammar, §5.7 calendar and leap second)', () => {
  it.each([
    ['UTC', '2017-10-01T14:00:52Z', Date.UTC(2017, 9, 1, 14, 0, 52)],
    ['lower-case t and z (§5.6 NOTE)', '2017-10-01t14:00:52z', Date.UTC(2017, 9, 1, 14, 0, 52)],
    ['an offset', '2017-10-01T16:00:52+02:00', Date.UTC(2017, 9, 1, 14, 0, 52)],
    ['a negative offset', '2017-10-01T09:30:52-04:30', Date.UTC(2017, 9, 1, 14, 0, 52)],
    ['-00:00 (§4.3)', '2017-10-01T14:00:52-00:00', Date.UTC(2017, 9, 1, 14, 0, 52)],
    ['milliseconds', '2017-10-01T14:00:52.123Z', Date.UTC(2017, 9, 1, 14, 0, 52, 123)],
    ['one fraction digit', '2017-10-01T14:00:52.5Z', Date.UTC(2017, 9, 1, 14, 0, 52, 500)],
    ['twelve fraction digits', '2017-10-01T14:00:52.123456789012Z', Date.UTC(2017, 9, 1, 14, 0, 52, 123)],
    ['a leap second', '2016-12-31T23:59:60Z', Date.UTC(2017, 0, 1, 0, 0, 0)],
    ['29 February of a leap year', '2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['29 February of 2000', '2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['year 0050', '0050-01-01T00:00:00Z', -60589296000000],
  ])('reads %s', (_what, text, expected) => {
    expect(sut(text)).toBe(expected);
  });

  it.each([
    ['30 November + 1', '2026-11-31T12:00:00Z'],
    ['30 February', '2017-02-30T12:00:00Z'],
    ['29 February of a common year', '2017-02-29T12:00:00Z'],
    ['29 February of 1900', '1900-02-29T12:00:00Z'],
    ['month 13', '2017-13-01T12:00:00Z'],
    ['month 0', '2017-00-01T12:00:00Z'],
    ['day 0', '2017-01-00T12:00:00Z'],
    ['hour 24', '2017-01-01T24:00:00Z'],
    ['minute 60', '2017-01-01T12:60:00Z'],
    ['second 61', '2017-01-01T12:00:61Z'],
    ['an offset hour 24', '2017-01-01T12:00:00+24:00'],
    ['an offset minute 60', '2017-01-01T12:00:00+01:60'],
    ['a space for T', '2017-10-01 14:00:52Z'],
    ['no offset', '2017-10-01T14:00:52'],
    ['an empty fraction', '2017-10-01T14:00:52.Z'],
    ['a compact offset', '2017-10-01T14:00:52+0200'],
    ['a date only', '2017-10-01'],
    ['surrounding blanks', ' 2017-10-01T14:00:52Z'],
    ['an IMF-fixdate', 'Sun, 01 Oct 2017 14:00:52 GMT'],
    ['a number', 1506866452000],
  ])('refuses %s', (_what, text) => {
    expect(sut(text)).toBeUndefined();
  });
});
