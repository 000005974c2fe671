/**
 * npm run test:quick: the quick tier (lib/tiers.ts), every test file that needs no tool outside
 * Node and npm. Arguments go to `node --test` (`npm run test:quick -- --test-name-pattern=cli`).
 */
import { spawnSync } from 'node:child_process';
import { ROOT } from '../infra/layout.ts';
import { quickFiles } from './lib/tiers.ts';

const args = ['--import', 'tsx', '--test', ...process.argv.slice(2), ...quickFiles()];
const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
process.exitCode = r.status ?? 1;
