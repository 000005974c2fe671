/**
 * The report: the views, read in one snapshot of the database, as a self-contained HTML page
 * (charts inlined as SVG) and a Markdown file with the same tables. Works mid-run and says
 * how much of the data it covers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { TopLevelSpec } from 'vega-lite';
import { countChart, renderSvg, shareChart } from './charts.ts';
import { readStatus, type DB, type Status } from '../store/store.ts';
import { SHARE_VIEWS, type ShareView } from './views.ts';

type ShareFigures = {
  records: number;
  over_50k: number | null;
  share: number | null;
  people: number | null;
  weighted_share: number | null;
};
type ShareRow = ShareFigures & { label: string };
type MissingRow = { column: string; missing: number; records: number; share: number | null };
type QuarantineRow = { source: string; reason: string; records: number; first_line: number };

export type ReportData = {
  status: Status;
  overall: ShareFigures;
  shares: { view: ShareView; rows: ShareRow[] }[];
  missing: MissingRow[];
  quarantine: QuarantineRow[];
  generatedAt: string;
};

/** How a NULL category (a `?` in the source) is labelled. */
const MISSING = '(missing)';

/** Reads everything in one transaction, so a load committing meanwhile cannot mix two states. */
export function readReport(db: DB): ReportData {
  return db.transaction(() => ({
    status: readStatus(db),
    overall: db.prepare('SELECT * FROM share_overall').get() as ShareFigures,
    shares: SHARE_VIEWS.map((view) => ({
      view,
      rows: (db.prepare(`SELECT * FROM ${view.name}`).all() as Record<string, unknown>[]).map((r) => ({
        ...(r as ShareFigures),
        label: (r[view.dimension] as string | null) ?? MISSING,
      })),
    })),
    missing: db.prepare('SELECT * FROM missing_values').all() as MissingRow[],
    quarantine: db.prepare('SELECT * FROM quarantine_by_reason').all() as QuarantineRow[],
    generatedAt: new Date().toISOString(),
  }))();
}

const formatCount = (n: number | null) => (n === null ? '–' : n.toLocaleString('en-US'));
const formatShare = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

type Table = { head: string[]; rows: string[][] };
type Section = { id: string; title: string; text?: string; chart?: TopLevelSpec; table: Table };

const SHARE_HEAD = [
  'Records',
  'Earning >50K',
  'Share of records',
  'People (sum of fnlwgt)',
  'Share of people',
];
const shareCells = (f: ShareFigures) => [
  formatCount(f.records),
  formatCount(f.over_50k),
  formatShare(f.share),
  formatCount(f.people),
  formatShare(f.weighted_share),
];

/** A share view's chart: the report's, and the README's image (npm run readme-chart). */
export const shareViewChart = (view: ShareView, rows: readonly ShareRow[]) =>
  shareChart(`Share earning >50K by ${view.label.toLowerCase()}`, view.label, rows);

/** The takeaway of a share chart in one line: where the share is highest and lowest. */
function range(rows: readonly ShareRow[]): string | undefined {
  const ranked = rows.filter((r) => r.share !== null).sort((a, b) => b.share! - a.share!);
  if (ranked.length < 2) return undefined;
  const at = (r: ShareRow) =>
    `${r.label} (${formatShare(r.share)} of records, ${formatShare(r.weighted_share)} of people)`;
  return `Highest: ${at(ranked[0])}; lowest: ${at(ranked.at(-1)!)}.`;
}

function coverage(s: Status): string {
  const t = s.totals;
  if (t.lines === 0) return 'Nothing loaded yet: this database has no sources registered.';
  const read = `${formatCount(t.linesRead)} of ${formatCount(t.lines)} source lines read (${t.percent}%)`;
  const outcome =
    `${formatCount(t.loaded)} records loaded, ${formatCount(t.quarantined)} quarantined, ` +
    `${formatCount(t.skipped)} blank or comment lines skipped`;
  return s.complete
    ? `Complete: ${read}; ${outcome}.`
    : `Partial: the load is still running or was stopped. ${read}; ${outcome}. ` +
        'Every figure below covers only the records loaded so far.';
}

function sections(d: ReportData): Section[] {
  const o = d.overall;
  return [
    {
      id: 'coverage',
      title: 'What this report covers',
      table: {
        head: ['Source', 'Lines read', 'Lines', 'Loaded', 'Quarantined', 'Skipped'],
        rows: d.status.sources.map((s) => [
          s.name,
          ...[s.linesRead, s.lines, s.loaded, s.quarantined, s.skipped].map(formatCount),
        ]),
      },
    },
    {
      id: 'overall',
      title: 'Overall',
      text:
        `${formatShare(o.share)} of records earn more than $50K a year; weighted by fnlwgt ` +
        `(the number of people each record stands for), ${formatShare(o.weighted_share)} of people do.`,
      table: { head: ['', ...SHARE_HEAD], rows: [['All records', ...shareCells(o)]] },
    },
    ...d.shares.map(({ view, rows }) => ({
      id: view.name,
      title: `By ${view.label.toLowerCase()}`,
      text: range(rows),
      chart: shareViewChart(view, rows),
      table: { head: [view.label, ...SHARE_HEAD], rows: rows.map((r) => [r.label, ...shareCells(r)]) },
    })),
    {
      id: 'missing_values',
      title: 'Missing values per column',
      text:
        'A "?" in the source is stored as NULL. ' +
        'Records with a missing category are counted under "(missing)" above.',
      chart: countChart(
        'Missing values per column',
        d.missing.map((m) => ({ label: m.column, count: m.missing })),
        { category: 'Column', count: 'Records with the value missing' },
      ),
      table: {
        head: ['Column', 'Missing', 'Records', 'Share missing'],
        rows: d.missing.map((m) => [
          m.column,
          formatCount(m.missing),
          formatCount(m.records),
          formatShare(m.share),
        ]),
      },
    },
    {
      id: 'quarantine_by_reason',
      title: 'Data quality: quarantined records',
      text: d.quarantine.length
        ? 'Lines that could not be loaded as typed records are kept in table quarantine ' +
          'with the raw line and the reason.'
        : 'No line has been quarantined.',
      table: {
        head: ['Source', 'Reason', 'Records', 'First line'],
        rows: d.quarantine.map((r) => [r.source, r.reason, formatCount(r.records), String(r.first_line)]),
      },
    },
  ];
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const escapeMd = (s: string) => s.replaceAll('|', '\\|');
/**
 * Right-aligned: every column of figures. The first column names the row
 * (an age band like "25-34" is a name).
 */
const numericColumn = (t: Table, i: number) => i > 0 && t.rows.every((r) => /^[\d.,%–]+$/.test(r[i]));

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
figure { margin: 0; } figure svg { display: block; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { padding: 3px 6px; border-bottom: 1px solid #eee; text-align: left; } th { background: #f5f5f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }`;

/** The line under the title of both reports. */
const generated = (at: string) => `Generated ${at} by census-etl report from the views in the database.`;

function html(d: ReportData, rendered: { section: Section; svg?: string }[]): string {
  const body = rendered.map(
    ({ section: s, svg }) => `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>
${s.text ? `<p>${escapeHtml(s.text)}</p>` : ''}
<div class="row">${svg ? `<figure>${svg}</figure>` : ''}${htmlTable(s.table)}</div></section>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Census Adult: who earns more than $50K?</title><style>${STYLE}</style></head>
<body><h1>Census Adult: who earns more than $50K?</h1>
<p class="meta">${generated(escapeHtml(d.generatedAt))}</p>
<p class="banner ${d.status.complete ? 'complete' : 'partial'}">${escapeHtml(coverage(d.status))}</p>
${body.join('\n')}
</body></html>
`;
}

function markdown(d: ReportData, rendered: { section: Section; chartFile?: string }[]): string {
  return (
    [
      '# Census Adult: who earns more than $50K?',
      generated(d.generatedAt),
      `**${coverage(d.status)}**`,
      ...rendered.map(({ section: s, chartFile }) =>
        [`## ${s.title}`, s.text, chartFile ? `![${s.title}](${chartFile})` : '', mdTable(s.table)]
          .filter(Boolean)
          .join('\n\n'),
      ),
    ].join('\n\n') + '\n'
  );
}

/**
 * Writes report.html (self-contained) and report.md (its charts as SVG files in charts/) to
 * `out`. The database is opened read-only, so a load running meanwhile is not disturbed.
 */
export async function writeReport({
  db,
  out,
}: {
  db: string;
  out: string;
}): Promise<{ html: string; markdown: string }> {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  let data: ReportData;
  try {
    data = readReport(conn);
  } finally {
    conn.close();
  }
  const rendered = await Promise.all(
    sections(data).map(async (section) => ({
      section,
      svg: section.chart && (await renderSvg(section.chart)),
      chartFile: section.chart && `charts/${section.id}.svg`,
    })),
  );
  mkdirSync(path.join(out, 'charts'), { recursive: true });
  for (const r of rendered) if (r.svg && r.chartFile) writeFileSync(path.join(out, r.chartFile), r.svg);
  const files = { html: path.join(out, 'report.html'), markdown: path.join(out, 'report.md') };
  writeFileSync(files.html, html(data, rendered));
  writeFileSync(files.markdown, markdown(data, rendered));
  return files;
}
