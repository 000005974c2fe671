/** npm run rerun: see lib/rerun.ts. */
import { main } from './lib/rerun.ts';

main(process.argv.slice(2));
