/**
 * The descriptor reader: Adult's shipped descriptor is a valid Data Package v2 (the official
 * profiles, vendored) and reads into the table census-etl always loaded; what census-etl cannot
 * honour is refused, every fault named by its JSON path, never ignored.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import adult from '../../../runner/dataset/adult/datapackage.json' with { type: 'json' };
import { loadDataset } from '../../../runner/dataset/dataset.ts';
import { readDescriptor } from '../../../runner/dataset/descriptor.ts';
import { UsageError } from '../../../runner/shared/errors.ts';

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const profile = (name: string) =>
  ajv.compile(JSON.parse(readFileSync(path.join(import.meta.dirname, 'profiles', `${name}.json`), 'utf8')));

test("Adult's descriptor validates against the official v2 profiles", () => {
  const checks: [string, unknown][] = [
    ['datapackage', adult],
    ['dataresource', adult.resources[0]],
    ['tableschema', adult.resources[0].schema],
    ['tabledialect', adult.resources[0].dialect],
  ];
  for (const [name, value] of checks) {
    const validate = profile(name);
    assert.ok(validate(value), `${name}: ${ajv.errorsText(validate.errors)}`);
  }
});

test('Adult reads as one table adult: its two pinned files, 15 typed fields, source and line', async () => {
  const { dataset } = await loadDataset(null);
  assert.equal(dataset.name, 'adult');
  assert.deepEqual(
    dataset.tables.map((t) => [t.name, t.files.map((f) => f.name), t.fields.length, t.lineage]),
    [['adult', ['Adult.data', 'Adult.test'], 15, { source: 'source', line: 'line' }]],
  );
  const [t] = dataset.tables;
  assert.ok(t.files.every((f) => /^sha256:[0-9a-f]{64}$/.test(f.hash ?? '')));
  assert.deepEqual(
    t.fields.filter((f) => f.type === 'integer').map((f) => f.name),
    ['age', 'fnlwgt', 'education-num', 'capital-gain', 'capital-loss', 'hours-per-week'],
  );
  assert.equal(t.fields.at(-1)!.dropSuffix, '.');
  assert.deepEqual(t.dialect.commentChar, '|');
  const { dataset: local } = await loadDataset(null, '/data');
  assert.deepEqual(local.tables[0].files, [
    { uri: '/data/Adult.data', name: 'Adult.data', hash: null },
    { uri: '/data/Adult.test', name: 'Adult.test', hash: null },
  ]);
});

const base = { kind: 'local' as const, at: '/data' };
const noJson = async () => {
  throw new Error('no file');
};
const read = (descriptor: unknown) => readDescriptor(descriptor, 'test.json', base, noJson);
const resource = (schema: object, extra: object = {}) => ({
  resources: [{ name: 'r', path: 'r.csv', schema, ...extra }],
});

test('what census-etl cannot honour is refused, each fault by its JSON path', async () => {
  const cases: [unknown, RegExp][] = [
    [resource({ fields: [{ name: 'p', type: 'geopoint' }] }), /resources\[0\]\.schema\.fields\[0\]\.type/],
    [
      resource({ fields: [{ name: 'a' }], foreignKeys: [{ fields: ['a'], reference: { fields: ['a'] } }] }),
      /resources\[0\]\.schema\.foreignKeys/,
    ],
    [resource({ fields: [{ name: 'a' }] }, { data: [[1]] }), /resources\[0\]\.data/],
    [resource({ fields: [{ name: 'a' }] }, { dialect: { lineTerminator: '\r' } }), /dialect\.lineTerminator/],
    [resource({ fields: [{ name: 'a' }] }, { dialect: { quoteChar: '«' } }), /dialect\.quoteChar.*ASCII/],
    [
      resource({ fields: [{ name: 'a' }] }, { dialect: { quoteChar: '', escapeChar: '\\' } }),
      /dialect\.escapeChar.*inside quoted fields/,
    ],
    [resource({ fields: [{ name: 'quarantine' }] }, { name: 'quarantine' }), /resources\[0\]\.name/],
    // SQLite compares names case-insensitively: these would collide there.
    [resource({ fields: [{ name: 'a' }] }, { name: 'Quarantine' }), /resources\[0\]\.name/],
    [resource({ fields: [{ name: 'a' }] }, { name: 'census_etl_schema' }), /resources\[0\]\.name/],
    [resource({ fields: [{ name: 'Age' }, { name: 'age' }] }), /fields\[1\]\.name.*used twice/],
    [{ resources: [] }, /resources/],
  ];
  for (const [descriptor, where] of cases) {
    await assert.rejects(read(descriptor), (e: Error) => {
      assert.ok(e instanceof UsageError, e.message);
      assert.match(e.message, /^dataset test\.json cannot be loaded:\n/);
      assert.match(e.message, where);
      return true;
    });
  }
});

test('a plain descriptor reads with the defaults: lineage _source/_line, header, comma, quotes', async () => {
  const { dataset } = await read(resource({ fields: [{ name: 'a', type: 'integer' }], primaryKey: 'a' }));
  const [t] = dataset.tables;
  assert.deepEqual(t.lineage, { source: '_source', line: '_line' });
  assert.deepEqual(t.primaryKey, ['a']);
  assert.deepEqual(
    [t.dialect.header, t.dialect.delimiter, t.dialect.quoteChar, t.files[0].uri],
    [true, ',', '"', path.join('/data', 'r.csv')],
  );
});

test('relative paths under an s3:// descriptor are keys as written (no percent-encoding)', async () => {
  const descriptor = resource({ fields: [{ name: 'a' }] }, { path: ['my folder/a b.csv', './c%d.csv'] });
  const base = { kind: 'remote' as const, at: 's3://bucket/raw/x/' };
  const { dataset } = await readDescriptor(descriptor, 'dp.json', base, noJson);
  assert.deepEqual(
    dataset.tables[0].files.map((f) => [f.uri, f.name]),
    [
      ['s3://bucket/raw/x/my folder/a b.csv', 'a b.csv'],
      ['s3://bucket/raw/x/c%d.csv', 'c%d.csv'],
    ],
  );
});

test('a v1 descriptor as published reads: profile, csvddfVersion, groupChar "", an MD5 hash', async () => {
  const { dataset } = await read({
    profile: 'tabular-data-package',
    licenses: [{ name: 'ODC-PDDL-1.0', path: 'http://opendatacommons.org/licenses/pddl/' }],
    resources: [
      {
        name: 'r',
        path: 'r.csv',
        profile: 'tabular-data-resource',
        encoding: 'UTF-8',
        hash: 'ceca848def1c81e66ce8415faa8970af',
        dialect: { caseSensitiveHeader: false, csvddfVersion: 1.2, lineTerminator: '\r\n' },
        schema: {
          fields: [{ name: 'n', type: 'number', format: 'default', decimalChar: '.', groupChar: '' }],
        },
      },
    ],
  });
  const [t] = dataset.tables;
  assert.equal(t.fields[0].groupChar, null);
  assert.equal(t.files[0].hash, 'md5:ceca848def1c81e66ce8415faa8970af');
});
