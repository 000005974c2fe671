/**
 * Headless Chromium (Debian's package) driven by playwright-core, a dev dependency: only the
 * report's tests and `npm run readme-chart` load this module, never the runner itself.
 */
import { chromium, type Browser } from 'playwright-core';

/** Nothing but the page: no network of its own, no first-run or update machinery. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
