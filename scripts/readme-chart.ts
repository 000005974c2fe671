/**
 * npm run readme-chart [-- --db out/census.db]: renders the report's education chart from a
 * loaded database to assets/share-by-education.png, the image the README shows. The chart is
 * the report's own SVG, rasterised by headless Chromium at twice its size for sharp text.
 */
import { parseArgs } from 'node:util';
import { svgToPng } from '../runner/insights/browser.ts';
import { renderSvg } from '../runner/insights/charts.ts';
import { readReport, viewChart } from '../runner/insights/report.ts';
import { DEFAULTS } from '../runner/params.ts';
import { openStore } from '../runner/store/store.ts';

const VIEW = 'share_by_education';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: DEFAULTS.database },
    out: { type: 'string', default: 'assets/share-by-education.png' },
  },
});

const store = await openStore(values.db, { dataset: null, readOnly: true });
const data = await readReport(store).finally(() => store.close());
if (!data.status.complete)
  throw new Error(
    `${values.db} is not fully loaded (${data.status.totals.percent}%): the README shows the whole dataset`,
  );
const view = data.views.find((v) => v.view.name === VIEW);
const chart = view && viewChart(view);
if (!chart)
  throw new Error(`${values.db} has no chart of view ${VIEW}: it holds dataset ${data.dataset.name}`);
await svgToPng(await renderSvg(chart), values.out);
console.log(`wrote ${values.out} from ${values.db}`);
