/**
 * Table Schema's types and constraints, on text: a field's cell (as the CSV reader gives it) to
 * its logical value, or the reason it is not one. The cleaner calls these for every value the
 * parser's fast path does not take; the descriptor reader calls them to type constraint values.
 * Pure. Dates and times come out as ISO-8601 text: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff]`
 * (UTC when the text gave a zone), `HH:MM:SS[.ffffff]`: SQLite's own forms for its date functions,
 * and PostgreSQL's text for date, timestamp and time (DateStyle ISO), fractions without trailing
 * zeros as PostgreSQL prints them (".5", not ".500"), so that both databases hold the same text.
 */
import type { Field, FieldType, Value } from './model.ts';

/** Why a text is not a value of its field: a phrase that follows the value in a reason. */
export type Invalid = { invalid: string };
export const isInvalid = (v: Value | Invalid): v is Invalid => v !== null && typeof v === 'object';

/** Shortened for messages: a person reads the reason, the raw line is kept beside it. */
export const show = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

const fail = (invalid: string): Invalid => ({ invalid });

/** Integers census-etl loads exactly: both databases hold 64 bits, JavaScript numbers 53. */
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = new Map([
  ['inf', Infinity],
  ['+inf', Infinity],
  ['-inf', -Infinity],
]);

/** Leading and trailing text around the number (bareNumber: false): "€95", "95%". */
const NOT_BARE = /^[^\d+\-.]*(.*?)[^\d.]*$/s;

function numberText(field: Field, text: string): string {
  let t = text;
  if (!field.bareNumber) t = NOT_BARE.exec(t)![1];
  if (field.groupChar) t = t.replaceAll(field.groupChar, '');
  if (field.decimalChar !== '.') t = t.replace(field.decimalChar, '.');
  return t;
}

function integer(field: Field, text: string): number | Invalid {
  const t = numberText(field, text.trim());
  if (!INTEGER.test(t)) return fail('is not an integer');
  const n = Number(t);
  if (!Number.isSafeInteger(n)) return fail('is too large (beyond ±9,007,199,254,740,991)');
  return n === 0 ? 0 : n; // "-0" is 0
}

function number(field: Field, text: string): number | Invalid {
  const t = numberText(field, text.trim());
  const special = SPECIAL.get(t.toLowerCase());
  if (special !== undefined) return special;
  if (t.toLowerCase() === 'nan') return fail('is NaN, which census-etl does not store');
  if (!DECIMAL.test(t)) return fail('is not a number');
  const n = Number(t);
  return Number.isFinite(n) ? n : fail('is beyond the range of a double');
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
/** Whether y-m-d is a day of the calendar (years 1 to 9999, as both databases take them). */
export const isDay = (y: number, m: number, d: number) =>
  y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= (m === 2 && !isLeap(y) ? 28 : DAYS[m - 1]);
const isClock = (h: number, mi: number, s: number) => h <= 23 && mi <= 59 && s <= 59;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/** Fractional seconds as given, up to microseconds (what PostgreSQL keeps). */
const fraction = (f: string | undefined) => (f && f.length > 1 ? f : '');

type Parts = {
  y: number;
  m: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  f: string;
  zone: number | null;
};

/** A zone as minutes east of UTC: "Z", "+05:30", "-0800", "+05". */
function zoneMinutes(z: string | undefined): number | null {
  if (!z) return null;
  if (z === 'Z' || z === 'z') return 0;
  const m = /^([+-])(\d\d):?(\d\d)?$/.exec(z)!;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

/** The datetime as stored: in UTC when the text gave a zone, as written when it gave none. */
function datetimeText(p: Parts): string {
  let { y, m, d, h, mi } = p;
  if (p.zone) {
    const t = new Date(0);
    t.setUTCFullYear(y, m - 1, d);
    t.setUTCHours(h, mi - p.zone, p.s);
    [y, m, d] = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
    [h, mi] = [t.getUTCHours(), t.getUTCMinutes()];
  }
  return `${pad(y, 4)}-${pad(m)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(p.s)}${p.f}`;
}

const ISO_DATE = /^(\d{4})-(\d\d)-(\d\d)$/;
const ISO_DATETIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$/;
const ISO_TIME = /^(\d\d):(\d\d):(\d\d)(\.\d+)?$/;
/** format "any": ISO 8601 as people write it (a space or T, minutes or seconds, zones). */
const ANY_DATETIME =
  /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/;
const ANY_TIME = /^(\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?$/;

/** strptime directives census-etl reads (a format with another one is refused up front). */
const DIRECTIVES: Record<string, string> = {
  Y: '(?<Y>\\d{4})',
  y: '(?<y>\\d{2})',
  m: '(?<m>\\d{1,2})',
  d: '(?<d>\\d{1,2})',
  H: '(?<H>\\d{1,2})',
  I: '(?<I>\\d{1,2})',
  p: '(?<p>[AaPp][Mm])',
  M: '(?<M>\\d{1,2})',
  S: '(?<S>\\d{1,2})',
  f: '(?<f>\\d{1,6})',
  b: '(?<b>[A-Za-z]{3})',
  B: '(?<B>[A-Za-z]+)',
  z: '(?<z>[+-]\\d\\d:?\\d\\d|Z)',
  '%': '%',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** A strptime pattern as a regular expression; throws naming the first directive it cannot read. */
export function strptimePattern(format: string): RegExp {
  let source = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    const directive = DIRECTIVES[format[++i]];
    if (!directive) throw new Error(`the strptime directive %${format[i] ?? ''} is not one census-etl reads`);
    source += directive;
  }
  return new RegExp(`^${source}$`);
}

function strptime(pattern: RegExp, text: string): Parts | null {
  const g = pattern.exec(text)?.groups;
  if (!g) return null;
  const month = g.b ?? g.B;
  const m = month ? MONTHS.indexOf(month.slice(0, 3).toLowerCase()) + 1 : Number(g.m ?? 1);
  let h = Number(g.H ?? g.I ?? 0);
  if (g.p) h = (h % 12) + (/^[Pp]/.test(g.p) ? 12 : 0);
  const y = g.Y ? Number(g.Y) : g.y ? 2000 + Number(g.y) - (Number(g.y) >= 69 ? 100 : 0) : 1900;
  const f = g.f ? `.${g.f}` : '';
  return {
    y,
    m,
    d: Number(g.d ?? 1),
    h,
    mi: Number(g.M ?? 0),
    s: Number(g.S ?? 0),
    f,
    zone: zoneMinutes(g.z),
  };
}

const parts = (y: string, m: string, d: string, h = '0', mi = '0', s = '0', f?: string, z?: string) => ({
  y: Number(y),
  m: Number(m),
  d: Number(d),
  h: Number(h),
  mi: Number(mi),
  s: Number(s),
  f: fraction(f),
  zone: zoneMinutes(z),
});

/** The parts of a date, datetime or time text in the field's format; null when it is not one. */
function temporalParts(type: 'date' | 'datetime' | 'time', format: string, text: string): Parts | null {
  const t = text.trim();
  if (format === 'default' || format === 'any') {
    if (type === 'time') {
      const m = (format === 'any' ? ANY_TIME : ISO_TIME).exec(t);
      return m && parts('2000', '1', '1', m[1], m[2], m[3], m[4]);
    }
    const m = (format === 'any' ? ANY_DATETIME : type === 'date' ? ISO_DATE : ISO_DATETIME).exec(t);
    if (!m) return null;
    if (format === 'any' && type === 'date' && m[4] !== undefined) return null;
    return parts(m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
  }
  return strptime(strptimePattern(format), t);
}

const TEMPORAL_NAME = { date: 'a date', datetime: 'a datetime', time: 'a time' } as const;
const DEFAULT_FORM = { date: 'YYYY-MM-DD', datetime: 'YYYY-MM-DDThh:mm:ss', time: 'hh:mm:ss' } as const;

function temporal(type: 'date' | 'datetime' | 'time', field: Field, text: string): string | Invalid {
  const p = temporalParts(type, field.format, text);
  const form = field.format === 'default' ? DEFAULT_FORM[type] : field.format;
  const not = fail(`is not ${TEMPORAL_NAME[type]} (${form})`);
  if (!p || !isDay(p.y, p.m, p.d) || !isClock(p.h, p.mi, p.s)) return not;
  if (p.f.length > 7) return fail('has more than 6 digits of fractional seconds');
  p.f = p.f.replace(/\.?0+$/, '');
  if (type === 'date') return `${pad(p.y, 4)}-${pad(p.m)}-${pad(p.d)}`;
  if (type === 'time') {
    if (p.zone !== null) return fail('is a time with a zone, which census-etl does not store');
    return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${p.f}`;
  }
  const stored = datetimeText(p);
  return /^0000|^1\d{4}/.test(stored) ? fail('is outside the years 1 to 9999 in UTC') : stored;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function string(field: Field, text: string): string | Invalid {
  switch (field.format) {
    case 'email':
      return EMAIL.test(text) ? text : fail('is not an email address');
    case 'uri':
      return URL.canParse(text) ? text : fail('is not a URI');
    case 'uuid':
      return UUID.test(text) ? text : fail('is not a UUID');
    case 'binary':
      return BASE64.test(text) ? text : fail('is not base64');
    default:
      return text;
  }
}

/** A cell's logical value in its field's type (missing values are the caller's), or why not. */
export function castText(field: Field, text: string): Value | Invalid {
  // SQLite would keep it; PostgreSQL's text cannot: refused alike, both stores load the same rows.
  if (text.includes('\0')) return fail('holds a NUL character (text cannot)');
  switch (field.type) {
    case 'string':
      return string(field, text);
    case 'any':
      return text;
    case 'integer':
      return integer(field, text);
    case 'year': {
      const t = text.trim();
      return /^-?\d{4,}$/.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : fail('is not a year');
    }
    case 'number':
      return number(field, text);
    case 'boolean':
      if (field.trueValues.includes(text)) return true;
      if (field.falseValues.includes(text)) return false;
      return fail(`is not one of its true or false values`);
    case 'date':
    case 'datetime':
    case 'time':
      return temporal(field.type, field, text);
  }
}

/** Characters (code points), as Table Schema's minLength and maxLength count them. */
export const lengthOf = (s: string) => {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--; // the first half of a surrogate pair
  }
  return n;
};

/** Integers and numbers compare as numbers; the rest as their ISO text, which sorts as time does. */
const below = (a: Value, b: number | string) => (a as number | string) < b;
const above = (a: Value, b: number | string) => (a as number | string) > b;
const shown = (v: Value) => (typeof v === 'string' ? show(v) : String(v));

/** The XML Schema regular expression as JavaScript reads it: anchored, Unicode. */
export const patternRegExp = (pattern: string) => new RegExp(`^(?:${pattern})$`, 'u');

/** Which constraint a value breaks, as a phrase; null when it keeps them all. */
export function brokenConstraint(
  field: Field,
  value: Value,
  text: string,
  pattern: RegExp | null,
): string | null {
  const f = field;
  if (f.enum && !f.enum.includes(value))
    return `${shown(value)} is not in its enum (${f.enum.length} values)`;
  const lo = f.minimum;
  const hi = f.maximum;
  if ((lo !== null && below(value, lo)) || (hi !== null && above(value, hi))) {
    if (lo !== null && hi !== null) return `${shown(value)} is outside ${lo}..${hi}`;
    return lo !== null
      ? `${shown(value)} is below its minimum ${lo}`
      : `${shown(value)} is above its maximum ${hi}`;
  }
  if (f.exclusiveMinimum !== null && !above(value, f.exclusiveMinimum)) {
    return `${shown(value)} is not above its exclusiveMinimum ${f.exclusiveMinimum}`;
  }
  if (f.exclusiveMaximum !== null && !below(value, f.exclusiveMaximum)) {
    return `${shown(value)} is not below its exclusiveMaximum ${f.exclusiveMaximum}`;
  }
  if (typeof value === 'string' && (f.minLength !== null || f.maxLength !== null)) {
    const n = lengthOf(value);
    if (f.minLength !== null && n < f.minLength)
      return `${show(value)} is shorter than its minLength ${f.minLength}`;
    if (f.maxLength !== null && n > f.maxLength)
      return `${show(value)} is longer than its maxLength ${f.maxLength}`;
  }
  if (pattern && !pattern.test(text)) return `${show(text)} does not match its pattern ${f.pattern}`;
  return null;
}

/** The SQL-facing kind of a type: how both databases store it. */
export const storedAs = (type: FieldType): 'integer' | 'real' | 'text' | 'boolean' =>
  type === 'integer' || type === 'year'
    ? 'integer'
    : type === 'number'
      ? 'real'
      : type === 'boolean'
        ? 'boolean'
        : 'text';
