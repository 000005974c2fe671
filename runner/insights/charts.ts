/**
 * Charts for the report: Vega-Lite specifications compiled to Vega and rendered to SVG on the
 * server, so the report needs no script and no network to show them.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const RAW = 'records';
const WEIGHTED = 'people (weighted by fnlwgt)';

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

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export type ShareBar = {
  label: string;
  records: number;
  share: number | null;
  weighted_share: number | null;
};

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Horizontal bars, two per category (share of records, share of people), each labelled with
 * its percentage; the category's record count is in its axis label.
 */
export function shareChart(title: string, category: string, rows: readonly ShareBar[]): TopLevelSpec {
  const values = rows.flatMap((r) => {
    const label = `${r.label} (n=${count(r.records)})`;
    return [
      { label, measure: RAW, share: r.share },
      { label, measure: WEIGHTED, share: r.weighted_share },
    ];
  });
  const y = { field: 'label', type: 'nominal' as const, sort: null, title: `${category} (n = records)` };
  const x = { field: 'share', type: 'quantitative' as const };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: 'n = records in the group; fnlwgt = how many people a record stands for',
    },
    config: CONFIG,
    data: { values },
    width: 340,
    height: { step: 14 },
    encoding: { y, yOffset: { field: 'measure', sort: [RAW, WEIGHTED] } },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          x: {
            ...x,
            title: 'Share earning >50K',
            axis: { format: '.0%', grid: true },
            scale: { domain: [0, 1] },
          },
          color: {
            field: 'measure',
            sort: [RAW, WEIGHTED],
            scale: { range: ['#4c78a8', '#f58518'] },
            legend: { title: 'Share earning >50K among', orient: 'top', direction: 'horizontal' },
          },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, color: '#333' },
        encoding: { x, text: { field: 'share', type: 'quantitative', format: '.1%' } },
      },
    ],
  };
}

/** Horizontal bars of counts, each labelled with its count. */
export function countChart(
  title: string,
  rows: readonly { label: string; count: number }[],
  axis: { category: string; count: string },
): TopLevelSpec {
  const x = { field: 'count', type: 'quantitative' as const };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    data: { values: rows },
    width: 340,
    height: { step: 18 },
    encoding: { y: { field: 'label', type: 'nominal', sort: null, title: axis.category } },
    layer: [
      {
        mark: { type: 'bar', color: '#4c78a8', cornerRadiusEnd: 2 },
        encoding: { x: { ...x, title: axis.count, axis: { format: ',d' } } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 11, color: '#333' },
        encoding: { x, text: { field: 'count', type: 'quantitative', format: ',d' } },
      },
    ],
  };
}
