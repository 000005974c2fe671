/** npm run logs: see lib/logs.ts. */
import { main } from './lib/logs.ts';

process.exitCode = await main(process.argv.slice(2));
