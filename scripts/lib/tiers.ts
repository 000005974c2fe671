/**
 * The test tiers. `npm test` runs every test file; `npm run test:quick` (scripts/test.ts) every
 * file but those that need a tool outside Node and npm (a PostgreSQL cluster, moto_server,
 * terraform, Chromium...), for the edit loop; `npm run test:twin` the files of test/twin/.
 * docs/development.md says what each tier takes.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../infra/layout.ts';

/**
 * The test files that need a tool Node and npm do not bring, with the tools. Where a tool is
 * missing they skip and say why (under CI=true they fail), so a laptop without them passes the
 * whole suite too; the quick tier leaves them out either way. test/project/tiers.test.ts checks
 * that every other file calls none of the helpers that start or look for such a tool.
 */
export const NEEDS_TOOLS: Record<string, string> = {
  'test/infra/architecture.test.ts': 'moto_server, the AWS CLI',
  'test/infra/bundle.test.ts': 'objdump',
  'test/infra/plan.test.ts': 'terraform, moto_server, the AWS CLI',
  'test/infra/userdata-boot.test.ts': 'moto_server, the AWS CLI, unshare, ip, mount (root)',
  'test/infra/userdata.test.ts': 'shellcheck',
  'test/runner/faults/concurrency.test.ts': 'openssl (an https source)',
  'test/runner/faults/disk.test.ts': 'mount (root: a small tmpfs)',
  'test/runner/faults/network.test.ts': 'moto_server',
  'test/runner/faults/publish.test.ts': 'moto_server',
  'test/runner/faults/secrets.test.ts': 'moto_server, openssl',
  'test/runner/faults/sources.test.ts': 'openssl (an https source)',
  'test/runner/insights/report.test.ts': 'Chromium, PostgreSQL (a throwaway cluster)',
  'test/runner/insights/views.test.ts': 'PostgreSQL (a throwaway cluster)',
  'test/runner/publish/publish.test.ts': 'moto_server',
  'test/runner/run.test.ts': 'moto_server',
  'test/runner/store/postgres/cluster.test.ts': 'PostgreSQL (a throwaway cluster)',
  'test/runner/store/postgres/connect.test.ts': 'PostgreSQL (a throwaway cluster), openssl',
  'test/runner/store/postgres/copy.test.ts': 'PostgreSQL (a throwaway cluster)',
  'test/runner/store/postgres/store.test.ts': 'PostgreSQL (a throwaway cluster)',
  'test/scripts/logs.test.ts': 'moto_server, terraform',
  'test/scripts/sync.test.ts': 'moto_server, terraform',
  'test/twin/instance.test.ts': 'moto_server, the AWS CLI, unshare, ip, openssl, psql',
  'test/twin/postgres.test.ts': 'the AWS twin: terraform, moto_server, the AWS CLI, unshare, ip, PostgreSQL',
  'test/twin/twin.test.ts': 'the AWS twin: terraform, moto_server, the AWS CLI, unshare, ip',
};

/** Every test file, by path from the project folder, in order. */
export function testFiles(root = ROOT): string[] {
  return readdirSync(path.join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.posix.join('test', f.split(path.sep).join('/')))
    .sort();
}

/** The quick tier: every test file that needs no tool outside Node and npm. */
export const quickFiles = (root = ROOT) => testFiles(root).filter((f) => !(f in NEEDS_TOOLS));
