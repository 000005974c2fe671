/**
 * `census-etl infer` on CSV files of the shapes people have (generated here, and the real Adult
 * file): the exact descriptor it drafts, the notes it prints, and three checks on every draft:
 * the official v2 profiles accept it (vendored in ./profiles), census-etl's own descriptor reader
 * accepts it, and every record of a file read whole would load with it, none quarantined, except
 * the ones its notes name.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'csv-parse/sync';
import { readDescriptor } from '../../../runner/dataset/descriptor.ts';
import { inferDescriptor } from '../../../runner/dataset/infer.ts';
import type { Dataset, Table } from '../../../runner/dataset/model.ts';
import { brokenConstraint, castText, isInvalid, patternRegExp } from '../../../runner/dataset/types.ts';
import { DATA_DIR, runCli } from '../../support/cli.ts';
import { tempDir } from '../../support/fixtures.ts';
import adult from '../../../runner/dataset/adult/datapackage.json' with { type: 'json' };

const DIALECT = 'https://datapackage.org/profiles/2.0/tabledialect.json';
const SCHEMA = 'https://datapackage.org/profiles/2.0/tableschema.json';

// The profiles carry annotations ajv does not know (propertyOrder, context) and formats it does
// not check without a plugin (textarea, uri, email): no inferred descriptor has such a property.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const profile = (name: string): ValidateFunction =>
  ajv.compile(JSON.parse(readFileSync(path.join(import.meta.dirname, 'profiles', `${name}.json`), 'utf8')));
const PROFILES = {
  package: profile('datapackage'),
  resource: profile('dataresource'),
  schema: profile('tableschema'),
  dialect: profile('tabledialect'),
};

type Json = Record<string, any>;

function assertValid(descriptor: Json) {
  const check = (validate: ValidateFunction, value: unknown, what: string) =>
    assert.ok(validate(value), `${what}: ${ajv.errorsText(validate.errors)}`);
  check(PROFILES.package, descriptor, 'package');
  for (const r of descriptor.resources) {
    check(PROFILES.resource, r, `resource ${r.name}`);
    check(PROFILES.schema, r.schema, `schema of ${r.name}`);
    check(PROFILES.dialect, r.dialect, `dialect of ${r.name}`);
  }
}

/** The dataset census-etl's reader makes of the descriptor (it throws on anything it refuses). */
async function readBack(descriptor: Json, dir: string): Promise<Dataset> {
  const noFiles = async (uri: string) => assert.fail(`the descriptor names a JSON file: ${uri}`);
  const { dataset } = await readDescriptor(descriptor, 'inferred', { kind: 'local', at: dir }, noFiles);
  return dataset;
}

const sha256 = (file: string) => `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;

/**
 * What the loader would quarantine of a table's (single) file, read whole with its dialect: each
 * record with another field count, each value its field's cast or constraints refuse.
 */
function quarantined(table: Table): string[] {
  const d = table.dialect;
  const records: string[][] = parse(readFileSync(table.files[0].uri, 'utf8').replace(/^\uFEFF/, ''), {
    delimiter: d.delimiter,
    quote: d.quoteChar ?? false,
    ltrim: d.skipInitialSpace,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n'],
  });
  const problems: string[] = [];
  for (const [i, r] of (d.header ? records.slice(1) : records).entries()) {
    if (r.length !== table.fields.length) {
      problems.push(`record ${i + 1}: ${r.length} fields`);
      continue;
    }
    table.fields.forEach((f, j) => {
      const text = r[j];
      if (f.missingValues.includes(text)) {
        if (f.required) problems.push(`record ${i + 1}: ${f.name} is missing`);
        return;
      }
      const value = castText(f, text);
      const why = isInvalid(value)
        ? value.invalid
        : brokenConstraint(f, value, text, f.pattern ? patternRegExp(f.pattern) : null);
      if (why) problems.push(`record ${i + 1}: ${f.name} ${JSON.stringify(text)} ${why}`);
    });
  }
  return problems;
}

/** Infers, checks the draft against the profiles and the reader; the draft, its notes, its tables. */
async function inferChecked(files: string[], dir: string, options: { sampleBytes?: number } = {}) {
  const { descriptor, notes } = await inferDescriptor(files, { ...options, outDir: dir });
  const d = descriptor as Json;
  assertValid(d);
  const dataset = await readBack(d, dir);
  dataset.tables.forEach((t, i) => assert.equal(t.files[0].hash, sha256(files[i]), `hash of ${files[i]}`));
  return { d, notes, dataset };
}

const write = (dir: string, name: string, content: string | Buffer) => {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
};

const COUNTRIES = ['DE', 'FR', 'NL'];
/** A semicolon file as spreadsheets write it in much of Europe: header, 120 records. */
function semicolonFile(): string {
  const rows = ['id;name;price;in_stock;born;updated_at;country;zip;score'];
  for (let i = 0; i < 120; i++) {
    const day = `20${String(10 + (i % 10))}-0${1 + (i % 9)}-${String(10 + (i % 18))}`;
    rows.push(
      [
        i + 1,
        `Name ${i}`,
        (i * 1.25).toFixed(2),
        i % 3 ? 'true' : 'false',
        day,
        `${day}T0${i % 10}:30:00Z`,
        COUNTRIES[i % 3],
        `0${1000 + i}`,
        i % 10 === 0 ? '' : String(i * 7),
      ].join(';'),
    );
  }
  return rows.map((r) => `${r}\n`).join('');
}

test('a semicolon file with a header: delimiter, types, required, enum, exactly', async () => {
  const dir = tempDir();
  const file = write(dir, 'Products 2024.csv', semicolonFile());
  const { d, notes, dataset } = await inferChecked([file], dir);
  assert.deepEqual(d, {
    $schema: 'https://datapackage.org/profiles/2.0/datapackage.json',
    name: 'products_2024',
    resources: [
      {
        name: 'products_2024',
        type: 'table',
        path: 'Products 2024.csv',
        format: 'csv',
        mediatype: 'text/csv',
        encoding: 'utf-8',
        bytes: readFileSync(file).length,
        hash: sha256(file),
        dialect: { $schema: DIALECT, header: true, delimiter: ';', lineTerminator: '\n' },
        schema: {
          $schema: SCHEMA,
          fields: [
            { name: 'id', type: 'integer', constraints: { required: true } },
            { name: 'name', type: 'string', constraints: { required: true } },
            { name: 'price', type: 'number', constraints: { required: true } },
            { name: 'in_stock', type: 'boolean', constraints: { required: true } },
            { name: 'born', type: 'date', constraints: { required: true } },
            { name: 'updated_at', type: 'datetime', constraints: { required: true } },
            { name: 'country', type: 'string', constraints: { required: true, enum: COUNTRIES } },
            { name: 'zip', type: 'string', constraints: { required: true } },
            { name: 'score', type: 'integer' },
          ],
        },
      },
    ],
  });
  assert.deepEqual(notes, [
    'products_2024: first row taken as the header: text above typed columns ("id" above integer values)',
    'products_2024: field "country": enum of the 3 values seen in 120 records: ' +
      'a value outside it would be quarantined',
    'products_2024: field "zip": text, as values have leading zeros (e.g. "01000"), as codes do',
    'products_2024: required (no missing value in the file): ' +
      'id, name, price, in_stock, born, updated_at, country, zip',
  ]);
  assert.deepEqual(quarantined(dataset.tables[0]), []);
});

test('quoted fields with the delimiter, quotes and line ends inside; CRLF lines', async () => {
  const dir = tempDir();
  const text =
    'id,comment,amount\r\n' +
    '1,"Hello, world",3.5\r\n' +
    '2,"line one\r\nline two, still two",4\r\n' +
    '3,"she said ""hi""",\r\n' +
    '4,plain,-0.5\r\n';
  const file = write(dir, 'comments.csv', text);
  const { d, notes, dataset } = await inferChecked([file], dir);
  const r = d.resources[0];
  // CRLF and the double quote are the defaults: only the header is said.
  assert.deepEqual(r.dialect, { $schema: DIALECT, header: true });
  assert.deepEqual(r.schema.fields, [
    { name: 'id', type: 'integer', constraints: { required: true } },
    { name: 'comment', type: 'string', constraints: { required: true } },
    { name: 'amount', type: 'number' },
  ]);
  assert.deepEqual(notes, [
    'comments: first row taken as the header: text above typed columns ("id" above integer values)',
    'comments: required (no missing value in the file): id, comment',
  ]);
  assert.deepEqual(quarantined(dataset.tables[0]), []);
});

test('a TSV: tab delimiter, format tsv, commas inside fields', async () => {
  const dir = tempDir();
  const rows = ['city\tpopulation\tnote'];
  for (let i = 0; i < 30; i++) rows.push(`City ${i}\t${1000 * (i + 1)}\tnear ${i}, by the river`);
  const file = write(dir, 'cities.tsv', rows.join('\n') + '\n');
  const { d, dataset } = await inferChecked([file], dir);
  const r = d.resources[0];
  assert.equal(r.format, 'tsv');
  assert.equal(r.mediatype, 'text/tab-separated-values');
  assert.deepEqual(r.dialect, { $schema: DIALECT, header: true, delimiter: '\t', lineTerminator: '\n' });
  assert.deepEqual(
    r.schema.fields.map((f: Json) => [f.name, f.type]),
    [
      ['city', 'string'],
      ['population', 'integer'],
      ['note', 'string'],
    ],
  );
  assert.equal(dataset.tables[0].dialect.delimiter, '\t');
  assert.deepEqual(quarantined(dataset.tables[0]), []);
});

test('a file without a header: field1..n, header false, and a note to name them', async () => {
  const dir = tempDir();
  const file = write(dir, 'readings.csv', '1,2.5,abc\n2,3.5,def\n3,,ghi\n');
  const { d, notes, dataset } = await inferChecked([file], dir);
  const r = d.resources[0];
  assert.deepEqual(r.dialect, { $schema: DIALECT, header: false, lineTerminator: '\n' });
  assert.deepEqual(r.schema.fields, [
    { name: 'field1', type: 'integer', constraints: { required: true } },
    { name: 'field2', type: 'number' },
    { name: 'field3', type: 'string', constraints: { required: true } },
  ]);
  assert.deepEqual(notes, [
    'readings: no header row (the first row holds values such as "1")',
    'readings: fields named field1..field3: give them names',
    'readings: required (no missing value in the file): field1, field3',
  ]);
  assert.deepEqual(quarantined(dataset.tables[0]), []);
});

test('a space after every delimiter: skipInitialSpace, quoted fields after the space', async () => {
  const dir = tempDir();
  const file = write(dir, 'people.csv', 'name, age, motto\nAda, 36, "Think, then act"\nAlan, 41, Plain\n');
  const { d, dataset } = await inferChecked([file], dir);
  const r = d.resources[0];
  assert.deepEqual(r.dialect, {
    $schema: DIALECT,
    header: true,
    lineTerminator: '\n',
    skipInitialSpace: true,
  });
  assert.deepEqual(
    r.schema.fields.map((f: Json) => [f.name, f.type]),
    [
      ['name', 'string'],
      ['age', 'integer'],
      ['motto', 'string'],
    ],
  );
  assert.deepEqual(quarantined(dataset.tables[0]), []);
});

test('the real Adult.data: 15 fields, integers and texts, skipInitialSpace, its hash', async (t) => {
  const file = path.join(DATA_DIR, 'Adult.data');
  if (!existsSync(file)) return t.skip(`no ${file} (set CENSUS_DATA_DIR)`);
  const { d, notes, dataset } = await inferChecked([file], DATA_DIR);
  const r = d.resources[0];
  assert.equal(r.name, 'adult');
  assert.equal(r.path, 'Adult.data');
  assert.equal(r.hash, adult.resources[0]['censusEtl:hashes'][0]);
  assert.deepEqual(r.dialect, {
    $schema: DIALECT,
    header: false,
    lineTerminator: '\n',
    skipInitialSpace: true,
  });
  const [I, S] = ['integer', 'string'];
  assert.deepEqual(
    r.schema.fields.map((f: Json) => f.type),
    [I, S, I, S, I, S, S, S, S, S, I, I, I, S, S],
  );
  assert.deepEqual(
    r.schema.fields.map((f: Json) => f.name),
    Array.from({ length: 15 }, (_, i) => `field${i + 1}`),
  );
  // A sample: nothing is required; the domains of the nominal columns but native-country (41 values).
  assert.ok(r.schema.fields.every((f: Json) => f.constraints?.required === undefined));
  assert.deepEqual(r.schema.fields[9].constraints, { enum: ['Female', 'Male'] });
  assert.equal(r.schema.fields[13].constraints, undefined);
  assert.deepEqual(r.schema.fields[1].constraints.enum, [
    '?',
    ...[...adult.resources[0].schema.fields[1].constraints!.enum!].sort(),
  ]);
  assert.match(
    notes[0],
    /^adult: read the first 1,048,\d{3} of 3,974,299 bytes \(8,\d{3} records\): types, enums and header /,
  );
  assert.ok(
    notes.includes('adult: no header row (the first row holds values such as "39")'),
    notes.join('\n'),
  );
  assert.ok(
    notes.includes(
      'adult: field "field11": integer, though 1 of 8,600 values is not ("A"): it would be quarantined',
    ),
    notes.join('\n'),
  );
  assert.ok(
    notes.includes(
      `adult: field "field2": "?" appears 508 times: ` +
        `if it means "no value", add it to the field's missingValues`,
    ),
  );
  // The whole file loaded with this draft: the four deliberately bad records of Adult.data, no
  // more (the enums drawn from the first MiB cover the whole file).
  assert.deepEqual(quarantined(dataset.tables[0]), [
    'record 49: field11 "A" is not an integer',
    'record 22198: field1 "B" is not an integer',
    'record 22819: field3 "C" is not an integer',
    'record 32541: field1 "D" is not an integer',
  ]);
});

test('a sample cut short keeps whole records only, and says what it read', async () => {
  const dir = tempDir();
  const header = 'id,text,flag\n';
  const record = (i: number) => `${1000 + i},"first line\nsecond line",yes\n`;
  const records = Array.from({ length: 300 }, (_, i) => record(i));
  const file = write(dir, 'long.csv', header + records.join(''));
  // The cut falls just after the line end inside record 11's quoted field.
  const cutAt = header.length + 10 * record(0).length + record(0).indexOf('\n') + 5;
  const { d, notes } = await inferChecked([file], dir, { sampleBytes: cutAt });
  const read = header.length + 10 * record(0).length + record(0).indexOf('\n') + 1;
  const size = header.length + 300 * record(0).length;
  assert.equal(
    notes[0],
    `long: read the first ${read} of ${size.toLocaleString('en-US')} bytes (10 records): ` +
      'types, enums and header come from that sample; check them against the rest',
  );
  // Read in part: no field is required, whatever the sample holds; 10 records: no enum.
  assert.deepEqual(d.resources[0].schema.fields, [
    { name: 'id', type: 'integer' },
    { name: 'text', type: 'string' },
    { name: 'flag', type: 'string' },
  ]);
  assert.equal(d.resources[0].bytes, size);
  assert.equal(d.resources[0].hash, sha256(file));
});

test('header names: empty and repeated ones made unique, clear of the columns census-etl adds', async () => {
  const dir = tempDir();
  const rows = ['id,,name,Name,rowid,_source'];
  for (let i = 0; i < 5; i++) rows.push(`${i},x${i},a${i},b${i},${i * 2},s${i}`);
  const file = write(dir, 'labels.csv', rows.join('\n') + '\n');
  const { d, notes, dataset } = await inferChecked([file], dir);
  const r = d.resources[0];
  assert.deepEqual(
    r.schema.fields.map((f: Json) => f.name),
    ['id', 'field2', 'name', 'Name_2', 'rowid_2', '_source'],
  );
  assert.deepEqual(r['censusEtl:lineage'], { source: '_source_file', line: '_source_line' });
  assert.deepEqual(dataset.tables[0].lineage, { source: '_source_file', line: '_source_line' });
  const rename = 'the header check will report it: rename the column in the file too';
  assert.deepEqual(notes, [
    'labels: first row taken as the header: text above typed columns ("id" above integer values)',
    'labels: header column 2 is empty: field named "field2"',
    'labels: header column 4 "Name" repeats column 3 (as SQL compares names): ' +
      `field named "Name_2"; ${rename}`,
    `labels: header column 5 "rowid" is a column census-etl adds (rowid): field named "rowid_2"; ${rename}`,
    'labels: required (no missing value in the file): id, field2, name, Name_2, rowid_2, _source',
    'labels: a field is named _source or _line: lineage columns named _source_file and _source_line ' +
      '(censusEtl:lineage)',
  ]);
});

test('types, conservatively: codes, NaN, integers past 2^53, NA as missing, a few strays', async () => {
  const dir = tempDir();
  const rows = ['zip,ratio,big,count,mostly,flag,seen_at,day,opens,short'];
  for (let i = 0; i < 200; i++) {
    rows.push(
      [
        i === 7 ? '02134' : String(10000 + i),
        i === 3 ? 'NaN' : (i / 8).toString(),
        i === 5 ? '9007199254740993' : String(i),
        i % 50 === 0 ? 'NA' : String(i),
        i === 150 ? 'x' : String(i * 3),
        i % 2 ? 'TRUE' : 'false',
        `2024-03-${String(1 + (i % 28)).padStart(2, '0')} 10:${String(i % 60).padStart(2, '0')}`,
        `2024-03-${String(1 + (i % 28)).padStart(2, '0')}`,
        `${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:05`,
        `${String(i % 24).padStart(2, '0')}:30`,
      ].join(','),
    );
  }
  const file = write(dir, 'mixed.csv', rows.join('\n') + '\n');
  const { d, notes, dataset } = await inferChecked([file], dir);
  assert.deepEqual(d.resources[0].schema.fields, [
    { name: 'zip', type: 'string', constraints: { required: true } },
    { name: 'ratio', type: 'string', constraints: { required: true } },
    { name: 'big', type: 'string', constraints: { required: true } },
    { name: 'count', type: 'integer', missingValues: ['', 'NA'] },
    { name: 'mostly', type: 'integer', constraints: { required: true } },
    { name: 'flag', type: 'boolean', constraints: { required: true } },
    { name: 'seen_at', type: 'datetime', format: 'any', constraints: { required: true } },
    { name: 'day', type: 'date', constraints: { required: true } },
    { name: 'opens', type: 'time', constraints: { required: true } },
    { name: 'short', type: 'string', constraints: { required: true } },
  ]);
  assert.deepEqual(notes.slice(1, 6), [
    'mixed: field "zip": text, as values have leading zeros (e.g. "02134"), as codes do',
    'mixed: field "ratio": text, as "NaN" is not a number census-etl stores',
    'mixed: field "big": text, as "9007199254740993" is beyond ±2^53, ' +
      'past which integers are not loaded exactly',
    'mixed: field "count": "NA" taken as missing values',
    'mixed: field "mostly": integer, though 1 of 200 values is not ("x"): it would be quarantined',
  ]);
  // Loaded with its draft, the file loses the one value the notes name, and nothing else.
  assert.deepEqual(quarantined(dataset.tables[0]), ['record 151: mostly "x" is not an integer']);
});

test('files that cannot be a resource are refused, each error naming its file', async () => {
  const dir = tempDir();
  const utf16 = write(
    dir,
    'utf16.csv',
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n', 'utf16le')]),
  );
  const empty = write(dir, 'empty.csv', '\n\n');
  const outside = write(tempDir(), 'elsewhere.csv', 'a,b\n1,2\n');
  const refused = async (file: string, why: RegExp) => {
    await assert.rejects(inferDescriptor([file], { outDir: dir }), (e: Error) => {
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      assert.match(e.message, why);
      return true;
    });
  };
  await refused(utf16, /UTF-16 text .* census-etl reads UTF-8/);
  await refused(empty, /no records/);
  await refused(outside, /not inside .*, the descriptor's folder/);
  await refused(path.join(dir, 'missing.csv'), /no such file/);
});

test('resource names: lowercase, [a-z0-9_-], unique, clear of the tables census-etl keeps', async () => {
  const dir = tempDir();
  const content = 'a,b\n1,x\n';
  const files = ['My Data (2024).csv', 'run.csv', 'x/adult.csv', 'y/adult.csv', 'Adult.data', 'Adult.test'];
  const { d } = await inferChecked(
    files.map((f) => write(dir, f, content)),
    dir,
  );
  assert.deepEqual(
    d.resources.map((r: Json) => [r.name, r.path]),
    [
      ['my_data_2024', 'My Data (2024).csv'],
      ['run_2', 'run.csv'],
      ['adult', 'x/adult.csv'],
      ['adult_2', 'y/adult.csv'],
      ['adult_data', 'Adult.data'],
      ['adult_test', 'Adult.test'],
    ],
  );
  assert.equal(d.name, 'dataset');
});

test('census-etl infer: the draft on stdout, notes on stderr; --out, --force; bad files exit 2', async () => {
  const dir = tempDir();
  const file = write(dir, 'data/scores.csv', 'player;score\nann;3\nbob;5\n');
  const printed = runCli(['infer', file]);
  assert.equal(printed.code, 0, printed.stderr);
  const expected = await inferDescriptor([file], { outDir: path.dirname(file) });
  assert.deepEqual(JSON.parse(printed.stdout), expected.descriptor);
  assert.equal(
    printed.stderr,
    [
      `note: paths are relative to ${path.dirname(file)}: save the descriptor in that folder`,
      ...expected.notes.map((n) => `note: ${n}`),
    ].join('\n') + '\n',
  );

  const out = path.join(dir, 'datapackage.json');
  const written = runCli(['infer', file, '--out', out, '--name', 'league']);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout, '');
  const descriptor = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(descriptor.name, 'league');
  assert.equal(descriptor.resources[0].path, 'data/scores.csv');
  assert.match(written.stderr, /^note: scores: first row taken as the header/m);
  assert.ok(written.stderr.endsWith(`\ndescriptor written: ${out}\n`), written.stderr);
  await readBack(descriptor, dir);

  writeFileSync(out, '{"kept": true}');
  const again = runCli(['infer', file, '--out', out]);
  assert.equal(again.code, 2);
  assert.equal(again.stderr, `census-etl: ${out} exists: give --force to overwrite it\n`);
  assert.equal(readFileSync(out, 'utf8'), '{"kept": true}');
  const forced = runCli(['infer', file, '--out', out, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).resources[0].name, 'scores');

  const utf16 = write(dir, 'data/utf16.csv', Buffer.from('\uFEFFname\nJosé\n', 'utf16le'));
  const bad = runCli(['infer', file, utf16]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.equal(
    bad.stderr,
    `census-etl: ${utf16}: UTF-16 text (it starts with a UTF-16 byte order mark): census-etl reads UTF-8; ` +
      'convert it first (e.g. iconv -t UTF-8)\n',
  );
});
