/**
 * The CDKTF app (`cdktf synth|deploy|destroy`): reads the settings from the environment,
 * stages the dataset, checks the schedule fits the time limit, builds the release, then hands
 * them to the stack.
 */
import path from 'node:path';
import { App } from 'cdktf';
import { FILES } from '../runner/dataset/adult.ts';
import { loadDataset } from '../runner/dataset/dataset.ts';
import { DEFAULTS } from '../runner/params.ts';
import { stageSources } from '../runner/extract/sources.ts';
import { buildBundle } from './bundle.ts';
import { ConfigError, readConfig, scheduleProblem, type Config } from './config.ts';
import { ROOT, STACK_NAME } from './layout.ts';
import { CensusEtlStack } from './stack.ts';

/** A bad setting stops the app here, before Terraform sees anything: exit 2 and why. */
function refuse(message: string): never {
  process.stderr.write(`census-etl infra: ${message}\n`);
  process.exit(2);
}

function configOrExit(): Config {
  try {
    return readConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    refuse(e.message);
  }
}

const config = configOrExit();

// From CENSUS_DATA_DIR when set, else downloaded once into .cache; pinned checksums either way.
const { dataDir } = config;
const sources = FILES.map((f) => ({
  uri: dataDir ? path.resolve(dataDir, f.name) : f.url,
  sha256: f.sha256,
}));
const cache = path.join(ROOT, '.cache', 'dataset');
const say = (line: string) => process.stderr.write(`${line}\n`);
const { dataset } = await loadDataset(null);
dataset.tables[0].files = sources.map((s) => ({
  uri: s.uri,
  name: path.basename(s.uri),
  hash: `sha256:${s.sha256}`,
}));
const options = { retry: DEFAULTS.retry, log: say, maxRecordBytes: DEFAULTS.maxRecordBytes };
const { sources: staged } = await stageSources(dataset, cache, options);
// The whole schedule must fit in the time limit, or the instance would power off mid-run.
const tooLong = scheduleProblem(
  staged.reduce((n, s) => n + s.records, 0),
  config,
);
if (tooLong) refuse(tooLong);

const bundle = buildBundle(undefined, config.architecture);
const app = new App();
new CensusEtlStack(app, STACK_NAME, {
  config,
  raw: staged.map((s) => ({ name: s.name, path: s.path, sha256: s.sha256 })),
  bundle,
});
app.synth();
