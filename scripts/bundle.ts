/**
 * npm run bundle: builds the release files the instance runs (deploy builds them too) for this
 * machine's architecture, or `--arch x86_64|arm64`, and prints where.
 */
import { parseArgs } from 'node:util';
import { ARCHITECTURES, hostArchitecture, type Architecture } from '../infra/architecture.ts';
import { buildBundle } from '../infra/bundle.ts';

const { values } = parseArgs({ options: { arch: { type: 'string', default: hostArchitecture() } } });
const arch = values.arch as Architecture;
if (!(arch in ARCHITECTURES)) {
  process.stderr.write(`bundle: --arch must be one of ${Object.keys(ARCHITECTURES).join(', ')}\n`);
  process.exit(2);
}
const bundle = buildBundle(undefined, arch);
process.stdout.write(`${Object.values(bundle.files).join('\n')}\nsha256 ${bundle.sha256}\n`);
