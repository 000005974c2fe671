/**
 * CENSUS_DATASET at deploy: the user's descriptor and its files staged, the descriptor deployed
 * as one document naming the uploaded files (each pinned by its SHA-256), the params naming that
 * descriptor, the instance role reading exactly those keys; a descriptor the loader would refuse
 * refused by the app before Terraform sees anything.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readConfig } from '../../infra/config.ts';
import { ADULT_FOLDER, stageDataset } from '../../infra/dataset.ts';
import { readDescriptor } from '../../runner/dataset/descriptor.ts';
import { ROOT } from '../support/cli.ts';
import { tempDir } from '../support/fixtures.ts';
import { only, synth } from './synth.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A package of two resources: one file with its schema given as a path; two files of one name. */
function userPackage(): { descriptor: string; texts: Record<string, string> } {
  const dir = tempDir('census-package-');
  const texts = {
    'airports.csv': 'code,name\nCDG,Paris\nLIS,Lisboa\n',
    'a/part.csv': 'id\n1\n2\n',
    'b/part.csv': 'id\n3\n',
  };
  for (const [name, text] of Object.entries(texts)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const schema = { fields: [{ name: 'code' }, { name: 'name' }], primaryKey: 'code' };
  writeFileSync(path.join(dir, 'airports.schema.json'), JSON.stringify(schema));
  const descriptor = {
    name: 'travel',
    resources: [
      { name: 'airports', path: 'airports.csv', schema: 'airports.schema.json' },
      {
        name: 'parts',
        path: ['a/part.csv', 'b/part.csv'],
        schema: { fields: [{ name: 'id', type: 'integer' }] },
      },
    ],
  };
  writeFileSync(path.join(dir, 'datapackage.json'), JSON.stringify(descriptor));
  return { descriptor: path.join(dir, 'datapackage.json'), texts };
}

test('a user dataset: its files in a folder per resource, the descriptor naming them, pinned', async () => {
  const { descriptor, texts } = userPackage();
  const staged = await stageDataset({ dataset: descriptor, dataDir: null }, () => undefined);
  assert.equal(staged.folder, 'datasets/travel');
  assert.deepEqual(
    staged.files.map((f) => [f.key, f.sha256]),
    [
      ['airports/airports.csv', sha256(texts['airports.csv'])],
      ['parts/1/part.csv', sha256(texts['a/part.csv'])],
      ['parts/2/part.csv', sha256(texts['b/part.csv'])],
    ],
  );
  assert.equal(staged.records, 3 + 3 + 2, 'every record, headers included');
  const deployed = JSON.parse(staged.descriptor!);
  assert.deepEqual(deployed.resources[0].schema, {
    fields: [{ name: 'code' }, { name: 'name' }],
    primaryKey: 'code',
  });
  // Read as the instance reads it, from the raw zone: the uploaded files, each with its hash.
  const base = { kind: 'remote' as const, at: 's3://bucket/raw/datasets/travel/2026/12/06/' };
  const { dataset } = await readDescriptor(deployed, 'deployed', base, async () => ({}));
  assert.deepEqual(
    dataset.tables.flatMap((t) => t.files.map((f) => [t.name, f.uri, f.name, f.hash])),
    staged.files.map((f, i) => [
      i ? 'parts' : 'airports',
      `${base.at}${f.key}`,
      path.posix.basename(f.key),
      `sha256:${f.sha256}`,
    ]),
  );
});

test('the stack: the descriptor beside its files, the params naming it, the role reading all', async () => {
  const { descriptor } = userPackage();
  const { records, ...raw } = await stageDataset({ dataset: descriptor, dataDir: null }, () => undefined);
  assert.ok(records > 0);
  const json = synth({}, undefined, raw);
  const objects = Object.values(json.resource.aws_s3_object);
  const partition = '${terraform_data.uploads_ingestion-date_';
  const keyed = objects.filter((o) => o.key.startsWith('raw/'));
  assert.deepEqual(keyed.map((o) => o.key.replace(/\$\{[^}]+\}/, '<partition>')).sort(), [
    'raw/datasets/travel/<partition>/airports/airports.csv',
    'raw/datasets/travel/<partition>/datapackage.json',
    'raw/datasets/travel/<partition>/parts/1/part.csv',
    'raw/datasets/travel/<partition>/parts/2/part.csv',
  ]);
  assert.ok(keyed.every((o) => o.key.includes(partition)));
  const deployed = keyed.find((o) => o.key.endsWith('/datapackage.json'))!;
  assert.equal(deployed.content, raw.descriptor);
  const params = JSON.parse(objects.find((o) => o.key.endsWith('/params.json'))!.content);
  assert.match(
    params.dataset,
    /^s3:\/\/\$\{aws_s3_bucket\.[^}]+\.bucket\}\/raw\/datasets\/travel\/\$\{[^}]+\}\/datapackage\.json$/,
  );
  assert.equal(params.sources, undefined, 'the descriptor names the files');
  const [read] = JSON.parse(only(json, 'aws_iam_role_policy').policy).Statement;
  const readKeys = read.Resource.map((arn: string) => arn.slice(arn.indexOf('}/') + 2));
  assert.deepEqual(readKeys.sort(), objects.map((o) => o.key).sort());
  // Another descriptor (the same files) is another release.
  const adult = synth();
  assert.notEqual(json.output.release.value, adult.output.release.value);
  assert.equal(readConfig({}).dataset, null);
  assert.ok(
    Object.values(adult.resource.aws_s3_object).some((o) => o.key.startsWith(`raw/${ADULT_FOLDER}/`)),
  );
});

test('the app refuses a descriptor the loader would refuse: exit 2, the variable, the JSON path', () => {
  const dir = tempDir('census-package-');
  writeFileSync(path.join(dir, 'x.csv'), 'p\n1\n');
  const bad = {
    resources: [{ name: 'x', path: 'x.csv', schema: { fields: [{ name: 'p', type: 'geopoint' }] } }],
  };
  writeFileSync(path.join(dir, 'datapackage.json'), JSON.stringify(bad));
  const env = {
    ...process.env,
    CENSUS_DATASET: path.join(dir, 'datapackage.json'),
    CDKTF_OUTDIR: '/nonexistent',
  };
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'infra/main.ts'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^census-etl infra: CENSUS_DATASET: dataset .* cannot be loaded:/m);
  assert.match(r.stderr, /resources\[0\]\.schema\.fields\[0\]\.type/);
});
