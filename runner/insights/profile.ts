/**
 * A table's profile, field by field, in SQL that SQLite and PostgreSQL both run: how many values
 * are missing, how many are distinct, and for numbers their range, mean and a histogram; for
 * dates and times their range; for text (and booleans) the most frequent values. Every query
 * aggregates or stops at a LIMIT: a profile costs a few scans of the table and a few hundred
 * rows of memory, whatever the table's size.
 */
import type { Field, FieldType, Table } from '../dataset/model.ts';
import { q } from '../shared/sql.ts';

/** The most frequent values shown per text field. */
export const TOP_VALUES = 10;
/** A histogram's bars (at most). */
export const HISTOGRAM_BINS = 10;
/** Characters of a value kept (a longer text is cut, with "…"). */
export const VALUE_CHARS = 100;
/** Fields profiled per query: PostgreSQL takes 1,664 columns a row, SQLite 2,000. */
const FIELDS_PER_QUERY = 50;

export type Row = Record<string, unknown>;

/** How a field is profiled. */
export type FieldKind = 'numeric' | 'temporal' | 'categorical';

export const kindOf = (type: FieldType): FieldKind =>
  type === 'integer' || type === 'number' || type === 'year'
    ? 'numeric'
    : type === 'date' || type === 'datetime' || type === 'time'
      ? 'temporal'
      : 'categorical';

/** A value's count: the most frequent values, a histogram's bar. */
export type Tally = { label: string; count: number };

export type FieldProfile = {
  name: string;
  type: FieldType;
  missing: number;
  distinct: number;
  /** Numbers: numbers; dates and times: ISO-8601 text; text: null. */
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  /** Text and booleans (but not a unique field, whose every value is its only one): at most TOP_VALUES. */
  top: Tally[] | null;
  /** Numbers: equal-width bins from min to max (integers: bins of whole numbers). */
  histogram: Tally[] | null;
};

export type TableProfile = { name: string; title: string | null; rows: number; fields: FieldProfile[] };

/** A number from either database (PostgreSQL gives bigint and numeric as text). */
export function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isNaN(n) ? null : n;
}

/** The queries of a table's profile, and how to read their rows back. */
export type ProfileQueries = { sql: string[]; parse: (results: Row[][]) => TableProfile };

const chunks = <T>(xs: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));

/** Whether a field's every value is its own (a unique key of one field): no "most frequent" values. */
const isUnique = (t: Table, f: Field) =>
  f.unique ||
  (t.primaryKey.length === 1 && t.primaryKey[0] === f.name) ||
  t.uniqueKeys.some((k) => k.length === 1 && k[0] === f.name);

/** Aliases by position: field names may be anything, and PostgreSQL folds unquoted names. */
const alias = (i: number, what: string) => q(`f${i}_${what}`);

/** One scan: rows, and per field present values, distinct values, min, max, mean. */
function summarySql(t: Table, fields: readonly { f: Field; i: number }[]): string {
  const columns = fields.flatMap(({ f, i }) => {
    const c = q(f.name);
    const kind = kindOf(f.type);
    const out = [`count(${c}) AS ${alias(i, 'present')}`, `count(DISTINCT ${c}) AS ${alias(i, 'distinct')}`];
    if (kind === 'numeric') {
      out.push(`min(${c}) AS ${alias(i, 'min')}`, `max(${c}) AS ${alias(i, 'max')}`);
      out.push(`avg(${c}) AS ${alias(i, 'mean')}`);
    } else if (kind === 'temporal') {
      // PostgreSQL's date and time types as ISO-8601 text (SQLite keeps them as such).
      out.push(
        `CAST(min(${c}) AS TEXT) AS ${alias(i, 'min')}`,
        `CAST(max(${c}) AS TEXT) AS ${alias(i, 'max')}`,
      );
    }
    return out;
  });
  return `SELECT count(*) AS ${q('rows')}, ${columns.join(', ')} FROM ${q(t.name)}`;
}

/**
 * The most frequent values, ties by value; cut to VALUE_CHARS (+1, to know it was cut). Booleans
 * come back as text: 1/0 from SQLite, true/false from PostgreSQL.
 */
const topSql = (t: Table, f: Field) => {
  const c = q(f.name);
  return (
    `SELECT substr(CAST(${c} AS TEXT), 1, ${VALUE_CHARS + 1}) AS value, count(*) AS ${q('count')} ` +
    `FROM ${q(t.name)} WHERE ${c} IS NOT NULL GROUP BY ${c} ORDER BY count(*) DESC, ${c} LIMIT ${TOP_VALUES}`
  );
};

/**
 * Bins of width w from the minimum lo, counted in one scan (plus one for lo and w): bin k holds
 * lo + k·w <= v < lo + (k+1)·w, the last one everything from lo + 9·w up. Integers have a whole
 * width, (max - min + 10) / 10 in integer division (both databases divide integers so); other
 * numbers (max - min) / 10. Each edge is the same expression on both of its sides, so every value
 * falls in exactly one bin whatever the rounding.
 */
function histogramSql(t: Table, fields: readonly { f: Field; i: number }[]): string {
  const bins = Array.from({ length: HISTOGRAM_BINS }, (_, k) => k);
  const edge = (i: number, k: number) => `s.${alias(i, 'lo')} + ${k} * s.${alias(i, 'w')}`;
  const counts = fields.flatMap(({ f, i }) => {
    const c = q(f.name);
    return bins.map((k) => {
      const above = k === 0 ? [] : [`${c} >= ${edge(i, k)}`];
      const below = k === HISTOGRAM_BINS - 1 ? [] : [`${c} < ${edge(i, k + 1)}`];
      return `count(CASE WHEN ${[...above, ...below].join(' AND ')} THEN 1 END) AS ${alias(i, `bin${k}`)}`;
    });
  });
  const edges = fields.flatMap(({ f, i }) => {
    const c = q(f.name);
    const width =
      f.type === 'number'
        ? `(max(${c}) - min(${c})) / ${HISTOGRAM_BINS}`
        : `(max(${c}) - min(${c}) + ${HISTOGRAM_BINS}) / ${HISTOGRAM_BINS}`;
    return [`min(${c}) AS ${alias(i, 'lo')}`, `${width} AS ${alias(i, 'w')}`];
  });
  // The one row of s, carried through the aggregate (PostgreSQL wants it aggregated or grouped).
  const carried = fields.flatMap(({ i }) =>
    ['lo', 'w'].map((x) => `min(s.${alias(i, x)}) AS ${alias(i, x)}`),
  );
  return (
    `SELECT ${[...counts, ...carried].join(', ')} FROM ${q(t.name)} ` +
    `CROSS JOIN (SELECT ${edges.join(', ')} FROM ${q(t.name)}) s`
  );
}

/** A bin's edge: enough decimals to tell the edges `w` apart. */
const edgeText = (n: number, w: number) =>
  n.toLocaleString('en-US', {
    maximumFractionDigits: Math.min(10, Math.max(0, Math.ceil(-Math.log10(w)) + 1)),
  });

/** A histogram's bars from its row: bins that hold no possible value (past the maximum) left out. */
function histogram(f: Field, row: Row, i: number, max: number | null): Tally[] | null {
  const lo = num(row[`f${i}_lo`]);
  const w = num(row[`f${i}_w`]);
  if (lo === null || w === null || max === null || !Number.isFinite(lo) || !Number.isFinite(w)) return null;
  const counts = Array.from({ length: HISTOGRAM_BINS }, (_, k) => num(row[`f${i}_bin${k}`]) ?? 0);
  const total = counts.reduce((a, b) => a + b, 0);
  const whole = (n: number) => n.toLocaleString('en-US', { useGrouping: f.type !== 'year' });
  if (w === 0) return [{ label: f.type === 'number' ? String(lo) : whole(lo), count: total }];
  const bars: Tally[] = [];
  for (let k = 0; k < HISTOGRAM_BINS; k++) {
    const from = lo + k * w;
    if (from > max) break;
    if (f.type === 'number') {
      const last = k === HISTOGRAM_BINS - 1;
      const to = last ? `to ${edgeText(max, w)}` : `to <${edgeText(from + w, w)}`;
      bars.push({ label: `${edgeText(from, w)} ${to}`, count: counts[k] });
    } else {
      const to = k === HISTOGRAM_BINS - 1 ? max : Math.min(max, from + w - 1);
      bars.push({ label: to === from ? whole(from) : `${whole(from)}–${whole(to)}`, count: counts[k] });
    }
  }
  return bars;
}

/** A value of the most frequent as shown: booleans by name, long texts cut. */
function shown(f: Field, v: unknown): string {
  const text = String(v);
  if (f.type === 'boolean') return text === '1' || text === 'true' ? 'true' : 'false';
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS)}…` : text;
}

/** The queries that profile table `t`, in one snapshot with the report's others. */
export function profileQueries(t: Table): ProfileQueries {
  const indexed = t.fields.map((f, i) => ({ f, i }));
  const groups = chunks(indexed, FIELDS_PER_QUERY);
  const numeric = chunks(
    indexed.filter(({ f }) => kindOf(f.type) === 'numeric'),
    FIELDS_PER_QUERY,
  );
  const topped = indexed.filter(({ f }) => kindOf(f.type) === 'categorical' && !isUnique(t, f));
  const sql = [
    ...groups.map((g) => summarySql(t, g)),
    ...numeric.map((g) => histogramSql(t, g)),
    ...topped.map(({ f }) => topSql(t, f)),
  ];
  const parse = (results: Row[][]): TableProfile => {
    const summaries = results.slice(0, groups.length).map((r) => r[0]);
    const histograms = results.slice(groups.length, groups.length + numeric.length).map((r) => r[0]);
    const tops = results.slice(groups.length + numeric.length);
    const rows = num(summaries[0]?.rows) ?? 0;
    const fields = indexed.map(({ f, i }): FieldProfile => {
      const s = summaries[Math.floor(i / FIELDS_PER_QUERY)];
      const kind = kindOf(f.type);
      const read = (what: string) =>
        kind === 'numeric' ? num(s[`f${i}_${what}`]) : ((s[`f${i}_${what}`] as string | null) ?? null);
      const max = kind === 'numeric' ? num(s[`f${i}_max`]) : null;
      const n = numeric.findIndex((g) => g.some((x) => x.i === i));
      const top = topped.findIndex((x) => x.i === i);
      return {
        name: f.name,
        type: f.type,
        missing: rows - (num(s[`f${i}_present`]) ?? 0),
        distinct: num(s[`f${i}_distinct`]) ?? 0,
        min: kind === 'categorical' ? null : read('min'),
        max: kind === 'categorical' ? null : read('max'),
        mean: kind === 'numeric' ? num(s[`f${i}_mean`]) : null,
        top:
          top === -1 ? null : tops[top].map((r) => ({ label: shown(f, r.value), count: num(r.count) ?? 0 })),
        histogram: n === -1 ? null : histogram(f, histograms[n], i, max),
      };
    });
    return { name: t.name, title: t.title, rows, fields };
  };
  return { sql, parse };
}
