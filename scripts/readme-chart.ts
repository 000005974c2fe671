/**
 * npm run readme-chart [-- --db out/census.db]: renders the report's education chart from a
 * loaded database to assets/share-by-education.png, the image the README and docs/data.md show.
 * The chart is the report's own SVG, rasterised by headless Chromium at twice its size for sharp
 * text.
 */
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { svgToPng } from '../runner/insights/browser.ts';
import { renderSvg } from '../runner/insights/charts.ts';
import { DEFAULTS } from '../runner/params.ts';
import { readReport, shareViewChart } from '../runner/insights/report.ts';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: DEFAULTS.database },
    out: { type: 'string', default: 'assets/share-by-education.png' },
  },
});

const db = new Database(values.db, { readonly: true, fileMustExist: true });
const data = readReport(db);
db.close();
if (!data.status.complete)
  throw new Error(
    `${values.db} is not fully loaded (${data.status.totals.percent}%): the README shows the whole dataset`,
  );

const { view, rows } = data.shares.find((s) => s.view.name === 'share_by_education')!;
await svgToPng(await renderSvg(shareViewChart(view, rows)), values.out);
console.log(`wrote ${values.out} from ${values.db}`);
