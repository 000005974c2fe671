/**
 * Headless Chromium (Debian's package) driven by playwright-core, a dev dependency: only the
 * report's tests, `npm run readme-chart` and `npm run bench` load this module, never the runner.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Nothing but the page: no network of its own, no first-run or update machinery. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });

/** Writes a chart's SVG as a PNG image, rasterised at twice its size for sharp text. */
export async function svgToPng(svg: string, file: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ deviceScaleFactor: 2 });
    await page.setContent(`<body style="margin:0">${svg}</body>`);
    mkdirSync(path.dirname(file), { recursive: true });
    await page.locator('svg').screenshot({ path: file });
  } finally {
    await browser.close();
  }
}
