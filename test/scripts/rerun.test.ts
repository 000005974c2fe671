/** npm run rerun replaces what a new run needs, found in the synthesized stack by construct path. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { App } from 'cdktf';
import { readConfig } from '../../infra/config.ts';
import { STACK_NAME } from '../../infra/layout.ts';
import { replaced } from '../../scripts/lib/rerun.ts';
import { tempDir } from '../support/fixtures.ts';
import { testStack } from '../infra/synth.ts';

test('the instance; with --new-ami, the AMI kept since the first deploy too', () => {
  const outdir = tempDir('census-rerun-');
  const app = new App({ outdir });
  testStack(app, readConfig({}));
  app.synth();
  const stack = JSON.parse(readFileSync(path.join(outdir, 'stacks', STACK_NAME, 'cdk.tf.json'), 'utf8'));
  const [instance] = replaced(stack, false);
  assert.match(instance, /^aws_instance\.loader_instance_\w+$/);
  assert.deepEqual(replaced(stack, false), [instance]);
  const [, ami, ...others] = replaced(stack, true);
  assert.match(ami, /^terraform_data\.loader_ami_\w+$/);
  assert.deepEqual(others, []);
  assert.ok(stack.resource.aws_instance[instance.split('.')[1]], 'a resource of the stack');
});
