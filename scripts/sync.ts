/** npm run sync: see lib/sync.ts. */
import { main } from './lib/sync.ts';

process.exitCode = await main(process.argv.slice(2));
