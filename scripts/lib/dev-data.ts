/** The real dataset on a development machine (tests, bench, twin):
 * CENSUS_DATA_DIR, else ../shared/data/adult. */
import path from 'node:path';
import { ROOT } from '../../infra/layout.ts';

export const DEV_DATA_DIR = path.resolve(ROOT, process.env.CENSUS_DATA_DIR ?? '../shared/data/adult');
