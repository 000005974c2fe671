/**
 * The CDKTF app (`cdktf synth|deploy|destroy`): reads the settings from the environment,
 * stages the dataset, checks the schedule fits the time limit, builds the release, then hands
 * them to the stack.
 */
import { App } from 'cdktf';
import { SourceError } from '../runner/extract/sources.ts';
import { UsageError } from '../runner/shared/errors.ts';
import { buildBundle } from './bundle.ts';
import { ConfigError, ENV, readConfig, scheduleProblem, type Config } from './config.ts';
import { stageDataset, type DeployedDataset } from './dataset.ts';
import { STACK_NAME } from './layout.ts';
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

const say = (line: string) => process.stderr.write(`${line}\n`);
async function datasetOrExit(): Promise<DeployedDataset> {
  try {
    return await stageDataset(config, say);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof SourceError)) throw e;
    refuse(config.dataset ? `${ENV.dataset}: ${e.message}` : e.message);
  }
}
const { records, ...raw } = await datasetOrExit();
// The whole schedule must fit in the time limit, or the instance would power off mid-run.
const tooLong = scheduleProblem(records, config);
if (tooLong) refuse(tooLong);

const bundle = buildBundle(undefined, config.architecture);
const app = new App();
new CensusEtlStack(app, STACK_NAME, { config, raw, bundle });
app.synth();
