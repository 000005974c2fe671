/** Synthesizes the stack with test inputs (small raw files, a stand-in bundle) into plain JSON. */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Testing, type App } from 'cdktf';
import { readConfig, type Config } from '../../infra/config.ts';
import { ADULT_FOLDER, type DeployedDataset } from '../../infra/dataset.ts';
import { STACK_NAME } from '../../infra/layout.ts';
import { CensusEtlStack } from '../../infra/stack.ts';
import { tempDir } from '../support/fixtures.ts';

export type Synth = {
  terraform: { required_providers: { aws: { version: string } } };
  provider: { aws: Record<string, unknown>[] };
  resource: Record<string, Record<string, Record<string, any>>>;
  data: Record<string, Record<string, Record<string, any>>>;
  output: Record<string, { value: string }>;
};

/** The one resource of a type (the stack has one of each but S3 objects). */
export function only(json: Synth, type: string): Record<string, any> {
  const all = Object.values(json.resource[type] ?? {});
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0];
}

type Raw = Omit<DeployedDataset, 'records'>;

export function synth(env: NodeJS.ProcessEnv = {}, bundleText = 'console.log("runner")', raw?: Raw): Synth {
  const config = readConfig(env);
  return JSON.parse(Testing.synth(testStack(Testing.app(), config, bundleText, raw)));
}

/** The stack with test inputs: small raw files (Adult's unless `raw`), a stand-in bundle and addon. */
export function testStack(
  app: App,
  config: Config,
  bundleText = 'console.log("runner")',
  raw?: Raw,
): CensusEtlStack {
  const dir = tempDir('census-synth-');
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const adult = ['Adult.data', 'Adult.test'].map((key, i) => ({
    key,
    path: file(key, `${key}\n`),
    sha256: String(i).repeat(64),
  }));
  const files = {
    bundle: file('cli.mjs', bundleText),
    parser: file('parser.mjs', bundleText),
    addon: file('better_sqlite3.node', 'addon'),
  };
  const bundle = { files, sha256: createHash('sha256').update(bundleText).digest('hex') };
  raw ??= { folder: ADULT_FOLDER, files: adult, descriptor: null };
  return new CensusEtlStack(app, STACK_NAME, { config, raw, bundle });
}
