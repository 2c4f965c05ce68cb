/**
 * RFC 3339 §5.6 `date-time`, read strictly by its grammar:
 *
 *   date-time   = full-date "T" full-time          ; "T" and "Z" in either case (§5.6 NOTE)
 *   full-date   = date-fullyear "-" date-month "-" date-mday
 *   full-time   = partial-time time-offset
 *   partial-time = time-hour ":" time-minute ":" time-second [time-secfrac]
 *   time-secfrac = "." 1*DIGIT                     ; any number of digits
 *   time-offset = "Z" / ("+" / "-") time-hour ":" time-minute
 *
 * with the calendar check of §5.7 (`date-mday` 28–31 by month and leap year, so `2017-02-30` and
 * `2026-11-31` do not exist) and the leap second `time-second` 60 (§5.7; counted as the first
 * instant of the next minute, as POSIX time does). Fraction digits beyond milliseconds are
 * truncated.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Days in a month (1–12) of a year, RFC 3339 §5.7. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * An RFC 3339 `date-time` → epoch milliseconds, or undefined when the text is not one (wrong
 * grammar, a date or time that does not exist, an offset out of range). No surrounding blanks.
 */
export function parseRfc3339(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > 128) return undefined;
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const utc = new Date(0);
  // setUTCFullYear keeps years 0–99 as written (Date.UTC would map them to 1900–1999).
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, millis);
  return utc.getTime() - offsetMinutes * 60_000;
}
