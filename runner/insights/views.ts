/**
 * SQL views over the loaded data, created with the schema: the questions a person asks first,
 * answered in SQL so that any SQLite client (and the report) gets the same numbers.
 */
import { COLUMNS } from '../dataset/adult.ts';
import { q } from '../shared/sql.ts';

/**
 * A CASE expression that names the band a value falls in. `edges` are the first values of
 * every band but the lowest: [25, 35] gives "under 25", "25-34", "35 and over".
 */
function bandCase(column: string, edges: readonly number[]): string {
  const name = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  const whens = edges.map(
    (edge, i) =>
      `WHEN ${q(column)} < ${edge} THEN '${i === 0 ? `under ${edge}` : name(edges[i - 1], edge - 1)}'`,
  );
  return `CASE WHEN ${q(column)} IS NULL THEN NULL ${whens.join(' ')} ELSE '${edges.at(-1)} and over' END`;
}

/** Age bands of ten years; hours bands around the 40-hour week most records report. */
const AGE_EDGES = [25, 35, 45, 55, 65];
const HOURS_EDGES = [35, 40, 41, 50, 60];

/**
 * The figures every share view shows, over rows of `adult_enriched`. `fnlwgt` is the number
 * of people a record stands for, so the weighted share is the share of people, not of records;
 * both leave out records whose class is missing.
 */
const SHARE_FIGURES = `
    count(*) AS records,
    sum(over_50k) AS over_50k,
    avg(over_50k) AS share,
    sum(fnlwgt) AS people,
    sum(fnlwgt * over_50k) * 1.0 / sum(fnlwgt * (over_50k IS NOT NULL)) AS weighted_share`;

export type ShareView = {
  name: string;
  /** The column the records are grouped by, as the view names it. */
  dimension: string;
  /** What the dimension is, for people (a chart's axis, a table's header). */
  label: string;
  /** Extra grouping columns carried along (education's number, which orders it). */
  carry?: string[];
  orderBy: string;
};

/** The share of records (and of people) earning >50K, by one attribute each. */
export const SHARE_VIEWS: readonly ShareView[] = [
  {
    name: 'share_by_education',
    dimension: 'education',
    label: 'Education',
    carry: ['education-num'],
    orderBy: q('education-num'),
  },
  { name: 'share_by_occupation', dimension: 'occupation', label: 'Occupation', orderBy: 'share DESC' },
  { name: 'share_by_sex', dimension: 'sex', label: 'Sex', orderBy: 'share DESC' },
  { name: 'share_by_race', dimension: 'race', label: 'Race', orderBy: 'share DESC' },
  {
    name: 'share_by_marital_status',
    dimension: 'marital-status',
    label: 'Marital status',
    orderBy: 'share DESC',
  },
  // Bands are text, so they sort by the youngest age (fewest hours) in them.
  { name: 'share_by_age_band', dimension: 'age_band', label: 'Age', orderBy: 'min(age)' },
  {
    name: 'share_by_hours_band',
    dimension: 'hours_band',
    label: 'Hours worked per week',
    orderBy: `min(${q('hours-per-week')})`,
  },
];

export type View = { name: string; sql: string };
const view = (name: string, select: string): View => ({ name, sql: `CREATE VIEW ${name} AS\n  ${select}` });

function shareView(v: ShareView): View {
  const groupBy = [v.dimension, ...(v.carry ?? [])].map(q).join(', ');
  return view(
    v.name,
    `SELECT ${groupBy},${SHARE_FIGURES}
  FROM adult_enriched GROUP BY ${groupBy} ORDER BY ${v.orderBy}`,
  );
}

const missingRow = (c: (typeof COLUMNS)[number]) =>
  `SELECT '${c.name}' AS "column", records - ${q(c.name)} AS missing, records, ` +
  `(records - ${q(c.name)}) * 1.0 / records AS share FROM present`;

/** Counted once in one scan (MATERIALIZED), then one row per column, in file order. */
const MISSING_VALUES = view(
  'missing_values',
  `WITH present AS MATERIALIZED (
    SELECT count(*) AS records, ${COLUMNS.map((c) => `count(${q(c.name)}) AS ${q(c.name)}`).join(', ')}
    FROM adult
  )
  ${COLUMNS.map(missingRow).join('\n  UNION ALL ')}`,
);

/** Every view, in an order where each comes after those it reads. */
export const VIEWS: readonly View[] = [
  view(
    'adult_enriched',
    `SELECT *,
    CASE class WHEN '>50K' THEN 1 WHEN '<=50K' THEN 0 END AS over_50k,
    ${bandCase('age', AGE_EDGES)} AS age_band,
    ${bandCase('hours-per-week', HOURS_EDGES)} AS hours_band,
    ${q('capital-gain')} > 0 AS has_capital_gain
  FROM adult`,
  ),
  view('share_overall', `SELECT ${SHARE_FIGURES} FROM adult_enriched`),
  ...SHARE_VIEWS.map(shareView),
  MISSING_VALUES,
  view(
    'quarantine_by_reason',
    `SELECT source, reason, count(*) AS records, min(line) AS first_line
  FROM quarantine GROUP BY source, reason ORDER BY source, first_line`,
  ),
];
