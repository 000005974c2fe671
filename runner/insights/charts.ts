/**
 * Charts for the report: Vega-Lite specifications compiled to Vega and rendered to SVG on the
 * server, so the report needs no script and no network to show them. One kind of chart serves
 * every dataset: horizontal bars, one per category and measure (a view's chart as its
 * descriptor describes it, a field's most frequent values, a histogram, missing values).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ViewChart } from '../dataset/model.ts';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 12,
  view: { stroke: null },
  title: { fontSize: 16, anchor: 'start' as const, offset: 12, subtitleFontSize: 12, subtitleColor: '#555' },
  // No label limits: a category's name and count are the point of its row.
  axis: { labelFontSize: 12, titleFontSize: 12, titleColor: '#333', labelColor: '#333', labelLimit: 0 },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 0, titleLimit: 0 },
};

/** Tableau 10, the Vega default: the first two are the report's historical blue and orange. */
const COLORS = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];

/** d3-format specifiers: a bar's label, and the axis. */
const LABEL_FORMAT: Record<ViewChart['format'], string> = { percent: '.1%', count: ',d', number: ',.4~g' };
const AXIS_FORMAT: Record<ViewChart['format'], string> = { percent: '.0%', count: ',d', number: ',~g' };

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded for the first chart (about 35 MB): a load that writes no report never loads them.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One category of a chart: its label, the count its label shows (if any), a value per measure. */
export type Bar = { label: string; count: number | null; values: readonly (number | null)[] };

export type ChartSize = { width: number; step: number };

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Horizontal bars: per category, one bar per measure (offset within the category and coloured
 * by measure, with a legend when there are several), each labelled with its value; the
 * category's count, when the chart names one, is in its axis label: "Bachelors (n=8,024)".
 * `countLabel` says what is counted (default: the count's column name).
 */
export function barChart(
  chart: ViewChart,
  bars: readonly Bar[],
  options: { countLabel?: string; size?: ChartSize } = {},
): TopLevelSpec {
  const measures = chart.measures.map((m) => m.label);
  const counted = chart.count !== null;
  const values = bars.flatMap((b) => {
    const label = counted && b.count !== null ? `${b.label} (n=${count(b.count)})` : b.label;
    return chart.measures.map((m, i) => ({ label, measure: m.label, value: b.values[i] }));
  });
  const several = measures.length > 1;
  const size = options.size ?? { width: 340, step: several ? 14 : 18 };
  const countLabel = options.countLabel ?? chart.count;
  const y = {
    field: 'label',
    type: 'nominal' as const,
    sort: null,
    title: counted ? `${chart.categoryLabel} (n = ${countLabel})` : chart.categoryLabel,
  };
  const x = { field: 'value', type: 'quantitative' as const };
  // Shares are drawn on the whole 0-100% scale, unless one falls outside it.
  const shares =
    chart.format === 'percent' && values.every((v) => v.value === null || (v.value >= 0 && v.value <= 1));
  const color = several
    ? {
        field: 'measure',
        sort: measures,
        scale: { domain: measures, range: COLORS.slice(0, measures.length) },
        legend: { title: chart.legendTitle, orient: 'top' as const, direction: 'horizontal' as const },
      }
    : { value: COLORS[0] };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chart.subtitle ? { text: chart.title, subtitle: chart.subtitle } : chart.title,
    config: CONFIG,
    data: { values },
    width: size.width,
    height: { step: size.step },
    encoding: several ? { y, yOffset: { field: 'measure', sort: measures } } : { y },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          x: {
            ...x,
            title: chart.axisTitle,
            axis: { format: AXIS_FORMAT[chart.format], grid: true },
            ...(shares && { scale: { domain: [0, 1] } }),
          },
          color,
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: several ? 10 : 11, color: '#333' },
        encoding: { x, text: { field: 'value', type: 'quantitative', format: LABEL_FORMAT[chart.format] } },
      },
    ],
  };
}

/** Horizontal bars of counts, each labelled with its count. */
export function countChart(
  title: string,
  rows: readonly { label: string; count: number }[],
  axis: { category: string; count: string },
  size?: ChartSize,
): TopLevelSpec {
  const chart: ViewChart = {
    title,
    category: 'label',
    categoryLabel: axis.category,
    measures: [{ column: 'count', label: axis.count }],
    count: null,
    format: 'count',
    axisTitle: axis.count,
    legendTitle: null,
    subtitle: null,
  };
  return barChart(
    chart,
    rows.map((r) => ({ label: r.label, count: null, values: [r.count] })),
    { size },
  );
}
