/**
 * The report of a database, whatever dataset it holds: what the load covers, the dataset's own
 * views (as its descriptor lays them out: titles, columns, charts), missing values, the
 * quarantine, and a profile of every field of every table. Read in one snapshot of the database
 * through the store (SQLite or PostgreSQL alike), then written as a self-contained HTML page
 * (charts inlined as SVG) and a Markdown file with the same tables. Works mid-run and says how
 * much of the data it covers. Bounded: every query aggregates or stops at a LIMIT.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Dataset, View, ViewChart, ViewColumn } from '../dataset/model.ts';
import { q } from '../shared/sql.ts';
import { TOP_REASONS, totalsOf } from '../store/status.ts';
import type { Status, Store } from '../store/store.ts';
import { barChart, countChart, renderSvg, type Bar } from './charts.ts';
import { kindOf, num, profileQueries, type FieldProfile, type Row, type TableProfile } from './profile.ts';

/** Rows of a view the report shows (a view is the dataset's: it may return any number). */
export const MAX_VIEW_ROWS = 200;

export type Format = NonNullable<ViewColumn['format']>;
/** A column of a view's table: its name in the view, its header, how its cells are written. */
export type ShownColumn = { name: string; label: string; format: Format };
export type ViewData = { view: View; columns: ShownColumn[]; rows: Row[]; more: boolean };

/** A quarantine reason: how many records it holds, and where it was first met. */
export type ReasonRow = { reason: string; records: number; source: string; line: number };
/** The most frequent reasons (at most TOP_REASONS), and how many reasons and records in all. */
export type QuarantineData = { top: ReasonRow[]; reasons: number; records: number };

export type ReportData = {
  title: string;
  kind: Store['kind'];
  dataset: Dataset;
  status: Status;
  views: ViewData[];
  profiles: TableProfile[];
  quarantine: QuarantineData;
  generatedAt: string;
};

/** How a NULL category (a missing value in the source) is labelled. */
const MISSING = '(missing)';
const SOURCE_KEY = 2 ** 32;

/** Queries of the report that are not the dataset's: the counters, the quarantine. */
const OWN_QUERIES = [
  'SELECT no, name, next_line - 1 AS lines_read, loaded, quarantined, skipped FROM sources ORDER BY no',
  'SELECT count(*) AS batches, max(committed_at) AS last_at FROM batches',
  // A record's place in the sources as one number, as a row's key is: the first one of a reason.
  `SELECT reason, count(*) AS records, min(source_no * ${SOURCE_KEY} + line) AS first_seen FROM quarantine ` +
    `GROUP BY reason ORDER BY records DESC, first_seen LIMIT ${TOP_REASONS}`,
  'SELECT count(DISTINCT reason) AS reasons, count(*) AS records FROM quarantine',
];

/**
 * The status with its counters as of the report's snapshot: `status()` runs before the snapshot
 * is taken, and a batch committed in between must show in every figure or in none.
 */
function asOf(status: Status, sources: Row[], batches: Row): Status {
  const now = status.sources.map((s, i) => {
    const [loaded, quarantined, skipped] = [
      sources[i].loaded,
      sources[i].quarantined,
      sources[i].skipped,
    ].map((v) => num(v) ?? 0);
    const linesRead = num(sources[i].lines_read) ?? 0;
    return { ...s, linesRead, loaded, quarantined, skipped, recordsRead: loaded + quarantined + skipped };
  });
  return {
    ...status,
    sources: now,
    totals: totalsOf(now),
    batches: {
      ...status.batches,
      count: num(batches.batches) ?? 0,
      lastAt: (batches.last_at as string | null) ?? null,
    },
    complete: now.length > 0 && now.every((s) => s.recordsRead === s.records),
  };
}

/** A column's format when the descriptor gives none: numbers as numbers, anything else as text. */
function inferred(rows: readonly Row[], name: string): Format {
  const v = rows.map((r) => r[name]).find((x) => x !== null && x !== undefined);
  return typeof v === 'number' || typeof v === 'bigint' ? 'number' : 'text';
}

/** The columns a view's table shows: those its descriptor lists (in its order), else all. */
function columnsOf(view: View, rows: readonly Row[]): ShownColumn[] {
  const listed = Object.entries(view.columns);
  if (listed.length) {
    return listed.map(([name, c]) => ({
      name,
      label: c.label ?? name,
      format: c.format ?? inferred(rows, name),
    }));
  }
  return Object.keys(rows[0] ?? {}).map((name) => ({ name, label: name, format: inferred(rows, name) }));
}

/**
 * Reads everything the report shows: the status, then every query in one snapshot (the store's
 * `read`), so a load committing meanwhile cannot mix two states.
 */
export async function readReport(store: Store): Promise<ReportData> {
  const { dataset } = store;
  const shown = dataset.views.filter((v) => v.report);
  const profiles = dataset.tables.map(profileQueries);
  const queries = [
    ...OWN_QUERIES,
    ...shown.map((v) => `SELECT * FROM ${q(v.name)} LIMIT ${MAX_VIEW_ROWS + 1}`),
    ...profiles.flatMap((p) => p.sql),
  ];
  let status = await store.status();
  let results = await store.read(queries);
  // The sources are registered once, when a run starts: only one that started in between differs.
  for (let i = 0; i < 3 && results[0].length !== status.sources.length; i++) {
    status = await store.status();
    results = await store.read(queries);
  }
  if (results[0].length !== status.sources.length) throw new Error('the sources changed while reading');
  const [sources, [batches], top, [all]] = results;
  const names = new Map(sources.map((s) => [num(s.no), String(s.name)]));
  let at = OWN_QUERIES.length;
  const views = shown.map((view) => {
    const got = results[at++];
    const rows = got.slice(0, MAX_VIEW_ROWS);
    return { view, columns: columnsOf(view, rows), rows, more: got.length > MAX_VIEW_ROWS };
  });
  return {
    title: dataset.title ?? dataset.name,
    kind: store.kind,
    dataset,
    status: asOf(status, sources, batches),
    views,
    profiles: profiles.map((p) => p.parse(results.slice(at, (at += p.sql.length)))),
    quarantine: {
      top: top.map((r) => {
        const first = num(r.first_seen) ?? 0;
        const no = Math.floor(first / SOURCE_KEY);
        return {
          reason: String(r.reason),
          records: num(r.records) ?? 0,
          source: names.get(no) ?? `source ${no}`,
          line: first - no * SOURCE_KEY,
        };
      }),
      reasons: num(all.reasons) ?? 0,
      records: num(all.records) ?? 0,
    },
    generatedAt: new Date().toISOString(),
  };
}

const formatCount = (n: number | null) => (n === null ? '–' : n.toLocaleString('en-US'));
const formatShare = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
/** Whole numbers grouped; others to two decimals, or three significant digits below 1. */
function formatNumber(x: number | null): string {
  if (x === null) return '–';
  if (Number.isInteger(x) || !Number.isFinite(x)) return x.toLocaleString('en-US');
  return Math.abs(x) >= 1
    ? x.toLocaleString('en-US', { maximumFractionDigits: 2 })
    : x.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

const pad = (n: number) => String(n).padStart(2, '0');
/** A value as text: PostgreSQL's dates come back as Dates (at local midnight), booleans as booleans. */
function plain(v: unknown): string {
  if (v instanceof Date) {
    const day = `${v.getFullYear()}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`;
    const time = `${pad(v.getHours())}:${pad(v.getMinutes())}:${pad(v.getSeconds())}`;
    return time === '00:00:00' && v.getMilliseconds() === 0 ? day : `${day} ${time}`;
  }
  return String(v);
}

function cell(v: unknown, format: Format): string {
  if (v === null || v === undefined) return format === 'text' ? MISSING : '–';
  switch (format) {
    case 'count':
      return formatNumber(num(v));
    case 'percent':
      return formatShare(num(v));
    case 'number':
      return formatNumber(num(v));
    default:
      return plain(v);
  }
}

/** `numeric`: the columns of figures (right-aligned); by default, every column of figures but the first. */
type Table = { head: string[]; rows: string[][]; numeric?: boolean[] };
/** A part of the report: a section (level 2) or a field of a table's profile within one (level 3). */
type Block = {
  id: string;
  level: 2 | 3;
  title: string;
  text: string[];
  chart?: TopLevelSpec;
  table?: Table;
  /** What follows the table. */
  note?: string;
};

/** The figures of a category as a sentence's words: "74.0% of records", "8,024 records", "mean 3.2". */
function measured(format: ViewChart['format'], label: string, v: number | null): string {
  if (format === 'percent') return `${formatShare(v)} of ${label}`;
  if (format === 'count') return `${formatCount(v)} ${label}`;
  return `${label} ${formatNumber(v)}`;
}

/** The takeaway of a chart in one line: the categories where its first measure is highest and lowest. */
function takeaway(chart: ViewChart, bars: readonly Bar[]): string | undefined {
  const ranked = bars.filter((b) => b.values[0] !== null).sort((a, b) => b.values[0]! - a.values[0]!);
  if (ranked.length < 2) return undefined;
  const at = (b: Bar) =>
    `${b.label} (${chart.measures.map((m, i) => measured(chart.format, m.label, b.values[i])).join(', ')})`;
  return `Highest: ${at(ranked[0])}; lowest: ${at(ranked.at(-1)!)}.`;
}

/** A view's chart's bars: its rows as categories. */
const barsOf = (chart: ViewChart, rows: readonly Row[]): Bar[] =>
  rows.map((r) => {
    const category = r[chart.category];
    return {
      label: category === null || category === undefined ? MISSING : plain(category),
      count: chart.count === null ? null : num(r[chart.count]),
      values: chart.measures.map((m) => num(r[m.column])),
    };
  });

/** A view's chart as the report draws it (and the README's image: npm run readme-chart), or null. */
export function viewChart({ view, rows }: ViewData): TopLevelSpec | null {
  const chart = view.chart;
  if (!chart || !rows.length) return null;
  const countLabel = chart.count
    ? (view.columns[chart.count]?.label?.toLowerCase() ?? chart.count)
    : undefined;
  return barChart(chart, barsOf(chart, rows), { countLabel });
}

/** A view's section: its title, description, takeaway, chart and table. */
function viewBlock(data: ViewData): Block {
  const { view, columns, rows, more } = data;
  const text = [
    view.description,
    view.chart && takeaway(view.chart, barsOf(view.chart, rows)),
    rows.length ? null : 'No rows yet.',
  ];
  return {
    id: view.name,
    level: 2,
    title: view.title ?? view.name,
    text: text.filter((t): t is string => !!t),
    chart: viewChart(data) ?? undefined,
    table: {
      head: columns.map((c) => c.label),
      rows: rows.map((r) => columns.map((c) => cell(r[c.name], c.format))),
      numeric: columns.map((c) => c.format !== 'text'),
    },
    note: more ? `Only the first ${MAX_VIEW_ROWS} rows are shown.` : undefined,
  };
}

function coverage(s: Status): string {
  const t = s.totals;
  if (s.sources.length === 0) return 'Nothing loaded yet: this database has no sources registered.';
  const read = `${formatCount(t.recordsRead)} of ${formatCount(t.records)} records read (${t.percent}%)`;
  const outcome =
    `${formatCount(t.loaded)} loaded, ${formatCount(t.quarantined)} quarantined, ` +
    `${formatCount(t.skipped)} blank, comment or header lines skipped`;
  return s.complete
    ? `Complete: ${read}; ${outcome}.`
    : `Partial: the load is still running or was stopped. ${read}; ${outcome}. ` +
        'Every figure below covers only the records loaded so far.';
}

function coverageBlock(d: ReportData): Block {
  const s = d.status;
  const b = s.batches;
  const ms = (x: number | null) => (x === null ? '–' : `${x} ms`);
  const batches = b.count
    ? `${formatCount(b.count)} ${b.count === 1 ? 'batch' : 'batches'} committed, the last at ${b.lastAt}; ` +
      'time per batch: ' +
      `median ${ms(b.msP50)}, p99 ${ms(b.msP99)}, max ${ms(b.msMax)}.`
    : 'No batch committed yet.';
  const r = s.run;
  const run = r.id
    ? `Run ${r.id} (release ${r.release}), started ${r.startedAt}` +
      (r.finishedAt ? `, finished ${r.finishedAt}` : '') +
      (r.publishedTo ? `, published to ${r.publishedTo} at ${r.publishedAt}` : '') +
      '.'
    : null;
  const several = d.dataset.tables.length > 1;
  return {
    id: 'what-is-covered',
    level: 2,
    title: 'What this report covers',
    text: [batches, ...(run ? [run] : [])],
    table: {
      head: [
        ...(several ? ['Table'] : []),
        'Source',
        'Records read',
        'Records',
        'Loaded',
        'Quarantined',
        'Skipped',
      ],
      rows: s.sources.map((x) => [
        ...(several ? [x.resource] : []),
        x.name,
        ...[x.recordsRead, x.records, x.loaded, x.quarantined, x.skipped].map(formatCount),
      ]),
    },
  };
}

/** Every field's missing values, from the profiles (the same counts as view missing_values). */
function missingBlock(d: ReportData): Block {
  const several = d.profiles.length > 1;
  const fields = d.profiles.flatMap((p) =>
    p.fields.map((f) => ({ table: p.name, rows: p.rows, field: f.name, missing: f.missing })),
  );
  const markers = [...new Set(d.dataset.tables.flatMap((t) => t.fields.flatMap((f) => f.missingValues)))];
  const list = markers.map((m) => (m === '' ? 'an empty value' : JSON.stringify(m))).join(', ');
  const views = d.views.length ? '; the views above show a missing category as "(missing)"' : '';
  return {
    id: 'missing-values',
    level: 2,
    title: 'Missing values per column',
    text: markers.length
      ? [`What the descriptor counts as missing (${list}) is stored as NULL${views}.`]
      : [],
    chart: fields.length
      ? countChart(
          'Missing values per column',
          fields.map((f) => ({ label: several ? `${f.table}.${f.field}` : f.field, count: f.missing })),
          { category: 'Column', count: 'Records with the value missing' },
        )
      : undefined,
    table: {
      head: [...(several ? ['Table'] : []), 'Column', 'Missing', 'Records', 'Share missing'],
      rows: fields.map((f) => [
        ...(several ? [f.table] : []),
        f.field,
        formatCount(f.missing),
        formatCount(f.rows),
        formatShare(f.rows ? f.missing / f.rows : null),
      ]),
    },
  };
}

function quarantineBlock({ quarantine: qd }: ReportData): Block {
  const others = qd.reasons - qd.top.length;
  const listed = qd.top.reduce((n, r) => n + r.records, 0);
  const reasons = qd.reasons === 1 ? 'One reason' : `${formatCount(qd.reasons)} distinct reasons`;
  return {
    id: 'quarantined-records',
    level: 2,
    title: 'Data quality: quarantined records',
    text: [
      qd.records
        ? `${formatCount(qd.records)} records could not be loaded as typed rows: each is kept in table ` +
          `quarantine with its raw line and the reason. ${reasons}` +
          (others > 0 ? `; the ${qd.top.length} most frequent:` : '.')
        : 'No line has been quarantined.',
    ],
    table: {
      head: ['Reason', 'Records', 'First in', 'Line'],
      rows: qd.top.map((r) => [r.reason, formatCount(r.records), r.source, String(r.line)]),
    },
    note:
      others > 0
        ? `…and ${formatCount(others)} other reasons (${formatCount(qd.records - listed)} records).`
        : undefined,
  };
}

/** A number of the profile as its field's type writes it (years are not grouped: 2024, not 2,024). */
function profileValue(f: FieldProfile, v: number | string | null): string {
  if (v === null) return kindOf(f.type) === 'categorical' ? '' : '–';
  if (typeof v === 'string') return v;
  return f.type === 'year' ? String(v) : formatNumber(v);
}

/** The small charts of a profile. */
const SMALL = { width: 260, step: 14 };

function profileBlocks(p: TableProfile, t: number): Block[] {
  const id = `profile-${t}-${p.name}`;
  const head = ['Field', 'Type', 'Missing', 'Distinct', 'Min', 'Max', 'Mean', 'Most frequent'];
  const summary: Block = {
    id,
    level: 2,
    title: `Profile of table ${p.name}`,
    text: [
      `${formatCount(p.rows)} rows. Per field: values missing, distinct values, and for numbers ` +
        'their range, mean and distribution, for dates and times their range, for text the most ' +
        'frequent values.',
    ],
    table: {
      head,
      rows: p.fields.map((f) => [
        f.name,
        f.type,
        formatCount(f.missing),
        formatCount(f.distinct),
        profileValue(f, f.min),
        profileValue(f, f.max),
        f.mean === null ? (kindOf(f.type) === 'numeric' ? '–' : '') : formatNumber(f.mean),
        f.top?.[0] ? `${f.top[0].label} (${formatCount(f.top[0].count)})` : '',
      ]),
    },
  };
  const fields = p.fields.flatMap((f, i): Block[] => {
    const bars = f.top ?? f.histogram;
    if (!bars || f.distinct < 2) return [];
    const top = !!f.top;
    const what = top
      ? `${formatCount(f.distinct)} distinct values` +
        (f.distinct > bars.length ? `; the ${bars.length} most frequent.` : '.')
      : `The distribution of its ${formatCount(p.rows - f.missing)} values in bins of equal width.`;
    return [
      {
        id: `${id}-${i}`,
        level: 3,
        title: f.name,
        text: [what],
        chart: countChart(
          top ? `${f.name}: most frequent values` : `${f.name}: distribution`,
          bars,
          // The field's name is the chart's title: no axis title beside the values.
          { category: '', count: 'Rows' },
          SMALL,
        ),
        table: {
          head: top ? ['Value', 'Rows', 'Share of rows'] : ['Values', 'Rows'],
          rows: bars.map((b) => [
            b.label,
            formatCount(b.count),
            ...(top ? [formatShare(p.rows ? b.count / p.rows : null)] : []),
          ]),
        },
      },
    ];
  });
  return [summary, ...fields];
}

function blocks(d: ReportData): Block[] {
  return [
    coverageBlock(d),
    ...d.views.map(viewBlock),
    missingBlock(d),
    quarantineBlock(d),
    ...d.profiles.flatMap(profileBlocks),
  ];
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const escapeMd = (s: string) =>
  s
    .replaceAll('\\', '\\\\')
    .replaceAll('|', '\\|')
    .replace(/\r?\n|\r/g, ' ');
/** An id as a file name and HTML id: field names may hold anything. */
const slug = (id: string) => id.replace(/[^A-Za-z0-9_.-]+/g, '_');
/**
 * Right-aligned: every column of figures (empty cells aside). The first column names the row
 * (an age band like "25-34" is a name), unless the table says which columns hold figures.
 */
const numericColumn = (t: Table, i: number) =>
  (t.numeric ? t.numeric[i] : i > 0) &&
  t.rows.some((r) => r[i] !== '') &&
  t.rows.every((r) => r[i] === '' || /^(-?[\d.,]+%?|–|-?∞)$/.test(r[i]));

function htmlTable(t: Table): string {
  const cell = (c: string, i: number) =>
    `<td${numericColumn(t, i) ? ' class="num"' : ''}>${escapeHtml(c)}</td>`;
  return `<table><thead><tr>${t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>${t.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n')}</tbody></table>`;
}

function mdTable(t: Table): string {
  const align = t.head.map((_, i) => (numericColumn(t, i) ? '---:' : '---'));
  return [t.head, align, ...t.rows].map((r) => `| ${r.map(escapeMd).join(' | ')} |`).join('\n');
}

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #222; margin: 0 auto; padding: 24px; max-width: 1560px; }
h1 { margin-bottom: 4px; } .meta { color: #666; margin-top: 0; }
.banner { padding: 10px 14px; border-radius: 6px; font-weight: 600; }
.banner.complete { background: #e7f4ea; border: 1px solid #8cc79b; }
.banner.partial { background: #fff4dc; border: 1px solid #e8b84a; }
section { border-top: 1px solid #ddd; padding: 12px 0 20px; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.fields { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: flex-start; }
.fields section { border-top: none; padding: 0; }
.fields h3 { margin: 12px 0 4px; font-size: 15px; } .fields p { margin: 4px 0; color: #555; }
figure { margin: 0; } figure svg { display: block; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { padding: 3px 6px; border-bottom: 1px solid #eee; text-align: left; } th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }`;

/** The line under the title of both reports. */
const generated = (d: ReportData) =>
  `Generated ${d.generatedAt} by census-etl report, from one snapshot of the ` +
  `${d.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'} database.`;

type Rendered = { block: Block; svg?: string; chartFile?: string };

function htmlBlock({ block: b, svg }: Rendered): string {
  const h = b.level === 2 ? 'h2' : 'h3';
  const text = b.text.map((t) => `<p>${escapeHtml(t)}</p>`).join('\n');
  const figure = svg ? `<figure>${svg}</figure>` : '';
  const table = b.table ? htmlTable(b.table) : '';
  const note = b.note ? `<p>${escapeHtml(b.note)}</p>` : '';
  const open = `<section id="${slug(b.id)}"${b.level === 3 ? ' class="field"' : ''}>`;
  return `${open}<${h}>${escapeHtml(b.title)}</${h}>
${text}
<div class="row">${figure}${table}</div>${note}`;
}

function html(d: ReportData, rendered: Rendered[]): string {
  const parts: string[] = [];
  // A section stays open for the fields that follow it (a table's profile), laid out side by side.
  let open: 'none' | 'section' | 'fields' = 'none';
  for (const r of rendered) {
    if (r.block.level === 2) {
      parts.push(open === 'fields' ? '</div></section>' : open === 'section' ? '</section>' : '');
      parts.push(htmlBlock(r));
      open = 'section';
    } else {
      if (open !== 'fields') parts.push('<div class="fields">');
      parts.push(`${htmlBlock(r)}</section>`);
      open = 'fields';
    }
  }
  parts.push(open === 'fields' ? '</div></section>' : open === 'section' ? '</section>' : '');
  const title = escapeHtml(d.title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body><h1>${title}</h1>
<p class="meta">${escapeHtml(generated(d))}</p>
<p class="banner ${d.status.complete ? 'complete' : 'partial'}">${escapeHtml(coverage(d.status))}</p>
${parts.filter(Boolean).join('\n')}
</body></html>
`;
}

function markdown(d: ReportData, rendered: Rendered[]): string {
  const block = ({ block: b, chartFile }: Rendered) =>
    [
      `${'#'.repeat(b.level)} ${b.title}`,
      ...b.text,
      chartFile ? `![${b.title}](${chartFile})` : '',
      b.table ? mdTable(b.table) : '',
      b.note ?? '',
    ]
      .filter(Boolean)
      .join('\n\n');
  return (
    [`# ${d.title}`, generated(d), `**${coverage(d.status)}**`, ...rendered.map(block)].join('\n\n') + '\n'
  );
}

/**
 * Writes report.html (self-contained) and report.md (its charts as SVG files in charts/) to
 * `out`, from what `store` holds; opened read-only, a load running meanwhile is not disturbed.
 */
export async function writeReport({
  store,
  out,
}: {
  store: Store;
  out: string;
}): Promise<{ html: string; markdown: string }> {
  const data = await readReport(store);
  const rendered: Rendered[] = [];
  for (const block of blocks(data)) {
    rendered.push({
      block,
      svg: block.chart && (await renderSvg(block.chart)),
      chartFile: block.chart && `charts/${slug(block.id)}.svg`,
    });
  }
  mkdirSync(path.join(out, 'charts'), { recursive: true });
  for (const r of rendered) if (r.svg && r.chartFile) writeFileSync(path.join(out, r.chartFile), r.svg);
  const files = { html: path.join(out, 'report.html'), markdown: path.join(out, 'report.md') };
  writeFileSync(files.html, html(data, rendered));
  writeFileSync(files.markdown, markdown(data, rendered));
  return files;
}
