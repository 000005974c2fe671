/**
 * The CDKTF app (`cdktf synth|deploy|destroy`): reads the settings from the environment,
 * stages the dataset and builds the runner bundle, then hands them to the stack.
 */
import path from 'node:path';
import { App } from 'cdktf';
import { FILES } from '../runner/dataset.ts';
import { DEFAULTS } from '../runner/params.ts';
import { stageSources } from '../runner/sources.ts';
import { buildBundle } from './bundle.ts';
import { ConfigError, readConfig, type Config } from './config.ts';
import { ROOT, STACK_NAME } from './layout.ts';
import { CensusEtlStack } from './stack.ts';

function configOrExit(): Config {
  try {
    return readConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`census-etl infra: ${e.message}\n`);
    process.exit(2);
  }
}

const config = configOrExit();

// From CENSUS_DATA_DIR when set, else downloaded once into .cache; pinned checksums either way.
const { dataDir } = config;
const sources = FILES.map((f) => ({ uri: dataDir ? path.resolve(dataDir, f.name) : f.url, sha256: f.sha256 }));
const cache = path.join(ROOT, '.cache', 'dataset');
const say = (line: string) => process.stderr.write(`${line}\n`);
const { sources: staged } = await stageSources(sources, cache, DEFAULTS.retry, say);

const bundle = buildBundle(undefined, config.architecture);
const app = new App();
new CensusEtlStack(app, STACK_NAME, {
  config,
  raw: staged.map((s) => ({ name: s.name, path: s.path, sha256: s.sha256 })),
  bundle,
});
app.synth();
