/** npm run bundle: builds the runner bundle the instance runs (deploy builds it too) and prints where. */
import { buildBundle } from '../infra/bundle.ts';

const bundle = buildBundle();
process.stdout.write(`${bundle.files.bundle}\n${bundle.files.manifest}\nsha256 ${bundle.sha256}\n`);
