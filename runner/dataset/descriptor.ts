/**
 * A Frictionless Data Package descriptor (v2; v1 descriptors read too) to a Dataset: checked
 * property by property, every fault named with its JSON path, every property census-etl would
 * have to act on but cannot refused (exit 2), never ignored. Properties that only describe
 * (title, licenses, sources...) and extensions of other tools pass. census-etl's own extensions
 * are namespaced `censusEtl:` (the standard recommends `namespace:property`).
 */
import path from 'node:path';
import { z } from 'zod';
import { UsageError } from '../shared/errors.ts';
import type { Dataset, Dialect, Field, FieldType, Table, Value, View, ViewChart } from './model.ts';
import { ROWID } from './model.ts';
import { castText, isInvalid, patternRegExp, strptimePattern } from './types.ts';
import { isRemoteUri } from '../shared/uri.ts';

/** Tables census-etl keeps beside the dataset's, and its views: no resource may take these names. */
export const OWN_TABLES = ['quarantine', 'sources', 'batches', 'run', 'dataset', 'census_etl_schema'];
export const OWN_VIEWS = ['quarantine_by_reason', 'missing_values'];

/** Names as SQLite compares them (case-insensitively): `Age` and `age` are one column there. */
const taken = (names: readonly string[], name: string) =>
  names.some((n) => n.toLowerCase() === name.toLowerCase());
const ownName = (name: string) => taken(OWN_TABLES, name) || taken(OWN_VIEWS, name);

/** Each name that repeats an earlier one of `names` (case aside), said at its own index. */
function refuseRepeats(names: readonly string[], at: (i: number) => PropertyKey[], problems: Problems) {
  const seen = new Set<string>(); // lower case: one pass, however many fields a descriptor lists
  names.forEach((n, i) => {
    if (seen.has(n.toLowerCase())) problems.add(at(i), `${JSON.stringify(n)} is used twice (case aside)`);
    seen.add(n.toLowerCase());
  });
}

/** Lineage column names for tables that do not name their own (censusEtl:lineage). */
export const DEFAULT_LINEAGE = { source: '_source', line: '_line' };

const TYPES: readonly FieldType[] = [
  'string',
  'integer',
  'number',
  'boolean',
  'date',
  'datetime',
  'time',
  'year',
  'any',
];
const REFUSED_TYPES = ['object', 'array', 'list', 'yearmonth', 'duration', 'geopoint', 'geojson'];
const STRING_FORMATS = ['default', 'email', 'uri', 'uuid', 'binary'];
const HASH = /^(?:(md5|sha1|sha256|sha512):)?([0-9a-fA-F]+)$/;
const HASH_HEX_LENGTH: Record<string, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

/** A path of the descriptor as people write it: resources[0].schema.fields[2].type. */
const jsonPath = (parts: readonly PropertyKey[]) =>
  parts.reduce<string>(
    (p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${String(k)}` : String(k)),
    '',
  );

class DescriptorError extends UsageError {}

/** Collects what is wrong with a descriptor, each with its path, and refuses it at the end. */
class Problems {
  readonly found: string[] = [];
  readonly notes: string[] = [];
  add(at: PropertyKey[], what: string) {
    this.found.push(`${jsonPath(at) || '(top level)'}: ${what}`);
  }
  refuseIfAny(origin: string) {
    if (this.found.length) {
      throw new DescriptorError(
        `dataset ${origin} cannot be loaded:\n${this.found.map((f) => `  ${f}`).join('\n')}`,
      );
    }
  }
}

const str = z.string();
const strings = z.array(z.string());
const missingValues = z.array(z.union([z.string(), z.object({ value: z.string() }).loose()]));

const constraintsShape = z
  .object({
    required: z.boolean().optional(),
    unique: z.boolean().optional(),
    enum: z.array(z.unknown()).min(1).optional(),
    minimum: z.unknown().optional(),
    maximum: z.unknown().optional(),
    exclusiveMinimum: z.unknown().optional(),
    exclusiveMaximum: z.unknown().optional(),
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(0).optional(),
    pattern: z.string().optional(),
  })
  .loose();

const fieldShape = z
  .object({
    name: z.string().min(1),
    type: z.string().optional(),
    format: z.string().optional(),
    constraints: constraintsShape.optional(),
    missingValues: missingValues.optional(),
    trueValues: strings.optional(),
    falseValues: strings.optional(),
    decimalChar: z.string().min(1).optional(),
    // "" is no grouping, as the official profile allows and v1 descriptors write it.
    groupChar: z.string().optional(),
    bareNumber: z.boolean().optional(),
    categories: z
      .array(z.union([z.string(), z.number(), z.object({ value: z.unknown() }).loose()]))
      .optional(),
    'censusEtl:dropSuffix': z.string().min(1).optional(),
  })
  .loose();

const schemaShape = z
  .object({
    fields: z.array(fieldShape).min(1),
    missingValues: missingValues.optional(),
    primaryKey: z.union([z.string(), strings]).optional(),
    uniqueKeys: z.array(strings).optional(),
    fieldsMatch: z.string().optional(),
  })
  .loose();

const char = z.string().length(1, 'must be one character');
const dialectShape = z
  .object({
    header: z.boolean().optional(),
    headerRows: z.array(z.number().int()).optional(),
    delimiter: char.optional(),
    lineTerminator: z.string().optional(),
    quoteChar: z.string().max(1).optional(),
    doubleQuote: z.boolean().optional(),
    escapeChar: char.optional(),
    nullSequence: z.string().optional(),
    skipInitialSpace: z.boolean().optional(),
    commentChar: z.string().min(1).optional(),
  })
  .loose();

const chartShape = z.strictObject({
  title: str.optional(),
  category: str,
  categoryLabel: str.optional(),
  measures: z.array(z.strictObject({ column: str, label: str })).min(1),
  count: str.optional(),
  format: z.enum(['percent', 'count', 'number']).default('number'),
  axisTitle: str.optional(),
  legendTitle: str.optional(),
  subtitle: str.optional(),
});
const viewShape = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'must be lowercase letters, digits and "_"'),
  title: str.optional(),
  description: str.optional(),
  sql: z.union([str, z.array(str)]),
  report: z.boolean().default(true),
  columns: z
    .record(
      str,
      z.strictObject({
        label: str.optional(),
        format: z.enum(['count', 'percent', 'number', 'text']).optional(),
      }),
    )
    .default({}),
  chart: chartShape.optional(),
});

const resourceShape = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, ".", "-" or "_"'),
    title: str.optional(),
    path: z.union([str, z.array(str).min(1)]).optional(),
    format: str.optional(),
    mediatype: str.optional(),
    encoding: str.optional(),
    hash: str.optional(),
    schema: z.union([str, z.unknown()]).optional(),
    dialect: z.union([str, z.unknown()]).optional(),
    'censusEtl:hashes': z.array(str).optional(),
    'censusEtl:lineage': z.strictObject({ source: z.string().min(1), line: z.string().min(1) }).optional(),
  })
  .loose();

const packageShape = z
  .object({
    name: str.optional(),
    title: str.optional(),
    resources: z.array(z.unknown()).min(1),
    'censusEtl:views': z.array(z.unknown()).optional(),
  })
  .loose();

/** Properties each object may carry that census-etl does not act on, and reads past. */
const DESCRIPTIVE = new Set([
  '$schema',
  'profile',
  'id',
  'name',
  'title',
  'description',
  'homepage',
  'version',
  'created',
  'keywords',
  'image',
  'licenses',
  'sources',
  'contributors',
  'example',
  'rdfType',
  'categoriesOrdered',
  'bytes',
  'scheme',
  'type',
  'csvddfVersion',
  'caseSensitiveHeader',
  'headerJoin',
  'label',
]);
/** Standard properties census-etl would have to act on but does not: refused, with the reason. */
const REFUSED: Record<string, string> = {
  data: 'inline data is not loaded: give the rows as a CSV file in "path"',
  foreignKeys: 'census-etl does not enforce foreign keys: remove them to load without',
  commentRows: 'census-etl skips comment lines by commentChar only',
  jsonSchema: 'census-etl does not check values against a JSON Schema',
  property: 'census-etl reads delimited text, not JSON',
  itemType: 'census-etl reads delimited text, not JSON',
  itemKeys: 'census-etl reads delimited text, not JSON',
  sheetNumber: 'census-etl reads delimited text, not spreadsheets',
  sheetName: 'census-etl reads delimited text, not spreadsheets',
  table: 'census-etl reads delimited text, not database tables',
};

/** Flags refused properties, and notes the unknown ones that are not namespaced extensions. */
function checkKeys(o: unknown, known: readonly string[], at: PropertyKey[], problems: Problems) {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return;
  for (const key of Object.keys(o)) {
    if (known.includes(key) || DESCRIPTIVE.has(key)) continue;
    if (key in REFUSED) problems.add([...at, key], REFUSED[key]);
    else if (key.startsWith('censusEtl:')) problems.add([...at, key], 'is not a census-etl extension here');
    else if (!key.includes(':'))
      problems.notes.push(`${jsonPath([...at, key])}: not a property census-etl knows; ignored`);
  }
}

/** Parses `value` with `shape`, adding every issue at `at`; the data, or null when invalid. */
function parse<T>(shape: z.ZodType<T>, value: unknown, at: PropertyKey[], problems: Problems): T | null {
  const r = shape.safeParse(value);
  if (r.success) return r.data;
  for (const i of r.error.issues) problems.add([...at, ...i.path], i.message);
  return null;
}

/** Where the descriptor's relative paths start: a folder, or an s3:// or https:// prefix. */
export type Base = { kind: 'local' | 'remote'; at: string };

/** A file path of a resource, resolved against the base; null with a problem when it is unsafe. */
function resolvePath(p: string, base: Base, at: PropertyKey[], problems: Problems): string | null {
  if (isRemoteUri(p)) return p;
  if (/^[a-z][a-z0-9+.-]*:/i.test(p)) {
    problems.add(at, `${JSON.stringify(p)}: only relative paths, https:// and s3:// URLs are read`);
    return null;
  }
  // The standard's rule: relative POSIX paths, never absolute, never up out of the package.
  if (p.startsWith('/') || p.includes('\\') || p.split('/').includes('..')) {
    problems.add(
      at,
      `${JSON.stringify(p)}: must be a relative path inside the package (no "/" start, no "..")`,
    );
    return null;
  }
  if (base.kind === 'local') return path.join(base.at, p);
  // S3 keys are joined as text (a space stays a space); https URLs resolve as URLs do.
  return base.at.startsWith('s3://') ? base.at + path.posix.normalize(p) : new URL(p, base.at).href;
}

function readHash(text: string, at: PropertyKey[], problems: Problems): string | null {
  const m = HASH.exec(text);
  const algorithm = (m?.[1] ?? 'md5').toLowerCase();
  if (!m || m[2].length !== HASH_HEX_LENGTH[algorithm]) {
    problems.add(at, `${JSON.stringify(text)} is not a hash such as "sha256:<64 hex digits>"`);
    return null;
  }
  return `${algorithm}:${m[2].toLowerCase()}`;
}

/**
 * The encodings whose bytes keep ASCII's, one byte a character (WHATWG names): records are found
 * in a file's bytes before they are decoded, so multi-byte encodings other than UTF-8 cannot be.
 */
const SINGLE_BYTE = new Set([
  ...'ibm866 koi8-r koi8-u macintosh x-mac-cyrillic iso-8859-8-i windows-874'.split(' '),
  ...[2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16].map((n) => `iso-8859-${n}`),
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => `windows-125${n}`),
]);

/** A resource's encoding by its WHATWG name (latin1 is read as windows-1252, as browsers read it). */
function readEncoding(label: string | undefined, at: PropertyKey[], problems: Problems): string {
  if (label === undefined || /^(utf-?8(-sig)?|us-ascii|ascii)$/i.test(label)) return 'utf-8';
  let name: string | null = null;
  try {
    name = new TextDecoder(label).encoding;
  } catch {
    // Not a label the Encoding Standard knows: refused below.
  }
  if (name === 'utf-8' || (name !== null && SINGLE_BYTE.has(name))) return name;
  problems.add(
    at,
    `${JSON.stringify(label)}: census-etl reads UTF-8 and single-byte encodings (windows-1252, ` +
      'iso-8859-15, koi8-r…); convert the files to UTF-8 first (iconv -t UTF-8)',
  );
  return 'utf-8';
}

function readDialect(raw: unknown, encoding: string, at: PropertyKey[], problems: Problems): Dialect {
  const d = parse(dialectShape, raw ?? {}, at, problems) ?? {};
  checkKeys(raw, Object.keys(dialectShape.shape), at, problems);
  if (d.headerRows && !(d.headerRows.length === 1 && d.headerRows[0] === 1)) {
    problems.add([...at, 'headerRows'], 'census-etl reads one header row, the first: [1]');
  }
  if (d.lineTerminator !== undefined && !['\n', '\r\n'].includes(d.lineTerminator)) {
    problems.add([...at, 'lineTerminator'], 'census-etl reads LF and CRLF line ends ("\\n", "\\r\\n") only');
  }
  const delimiter = d.delimiter ?? ',';
  if (['\n', '\r'].includes(delimiter)) problems.add([...at, 'delimiter'], 'cannot be a line end');
  const quoteChar = d.quoteChar === undefined ? '"' : d.quoteChar || null;
  if (quoteChar && quoteChar === delimiter) problems.add([...at, 'quoteChar'], 'is the delimiter');
  if (d.escapeChar !== undefined && !quoteChar) {
    problems.add([...at, 'escapeChar'], 'works inside quoted fields only: with quoteChar "" it does nothing');
  }
  // Records are found in the file's bytes before it is decoded: these must be one byte each (in a
  // UTF-8 file the delimiter and comment character may be any character: their UTF-8 bytes).
  const oneByte = ['quoteChar', 'escapeChar', 'delimiter', 'commentChar'] as const;
  for (const key of encoding === 'utf-8' ? oneByte.slice(0, 2) : oneByte) {
    if (/[^\x00-\x7f]/.test(d[key] ?? '')) {
      problems.add([...at, key], `census-etl reads an ASCII character here (one byte in ${encoding})`);
    }
  }
  return {
    header: d.header ?? true,
    delimiter,
    quoteChar,
    doubleQuote: d.doubleQuote ?? true,
    escapeChar: d.escapeChar ?? null,
    skipInitialSpace: d.skipInitialSpace ?? false,
    commentChar: d.commentChar ?? null,
    nullSequence: d.nullSequence ?? null,
  };
}

const valuesOf = (m: readonly (string | { value: string })[]) =>
  m.map((v) => (typeof v === 'string' ? v : v.value));

function readField(
  raw: z.infer<typeof fieldShape>,
  schemaMissing: readonly string[],
  dialect: Dialect,
  at: PropertyKey[],
  problems: Problems,
): Field {
  checkKeys(raw, Object.keys(fieldShape.shape), at, problems);
  checkKeys(raw.constraints, Object.keys(constraintsShape.shape), [...at, 'constraints'], problems);
  const type = (raw.type ?? 'any') as FieldType;
  if (!TYPES.includes(type)) {
    const why = REFUSED_TYPES.includes(type)
      ? 'census-etl does not load this type'
      : 'is not a Table Schema type';
    problems.add([...at, 'type'], `${JSON.stringify(raw.type)}: ${why}`);
  }
  let format = (raw.format ?? 'default').replace(/^fmt:/, '');
  if (type === 'string' && !STRING_FORMATS.includes(format)) {
    problems.add(
      [...at, 'format'],
      `${JSON.stringify(format)}: string formats are ${STRING_FORMATS.join(', ')}`,
    );
  } else if (['date', 'datetime', 'time'].includes(type) && !['default', 'any'].includes(format)) {
    try {
      strptimePattern(format);
    } catch (e) {
      problems.add([...at, 'format'], (e as Error).message);
    }
  } else if (!['string', 'date', 'datetime', 'time'].includes(type)) format = 'default';
  const c = raw.constraints ?? {};
  const missing = [
    ...valuesOf(raw.missingValues ?? schemaMissing),
    ...(dialect.nullSequence ? [dialect.nullSequence] : []),
  ];
  const field: Field = {
    name: raw.name,
    type: TYPES.includes(type) ? type : 'any',
    format,
    missingValues: [...new Set(missing)],
    required: c.required ?? false,
    unique: c.unique ?? false,
    enum: null,
    minimum: null,
    maximum: null,
    exclusiveMinimum: null,
    exclusiveMaximum: null,
    minLength: c.minLength ?? null,
    maxLength: c.maxLength ?? null,
    pattern: c.pattern ?? null,
    trueValues: raw.trueValues ?? ['true', 'True', 'TRUE', '1'],
    falseValues: raw.falseValues ?? ['false', 'False', 'FALSE', '0'],
    decimalChar: raw.decimalChar ?? '.',
    groupChar: raw.groupChar || null,
    bareNumber: raw.bareNumber ?? true,
    dropSuffix: raw['censusEtl:dropSuffix'] ?? null,
  };
  if (field.pattern !== null) {
    try {
      patternRegExp(field.pattern);
    } catch (e) {
      problems.add(
        [...at, 'constraints', 'pattern'],
        `is not a regular expression census-etl reads: ${(e as Error).message}`,
      );
    }
  }
  /** A constraint value as a logical value of the field (the standard lets it be given as text). */
  const logical = (v: unknown, name: string): Value => {
    if (v === null || v === undefined) return null;
    const text = typeof v === 'string' ? v : String(v);
    const cast = castText(field, text);
    if (isInvalid(cast)) {
      problems.add([...at, 'constraints', name], `${JSON.stringify(v)} ${cast.invalid}`);
      return null;
    }
    return cast;
  };
  const bound = (name: 'minimum' | 'maximum' | 'exclusiveMinimum' | 'exclusiveMaximum') => {
    const v = logical(c[name], name);
    if (v !== null && typeof v !== 'number' && typeof v !== 'string') {
      problems.add([...at, 'constraints', name], 'applies to numbers, dates and times only');
      return null;
    }
    return v as number | string | null;
  };
  field.minimum = bound('minimum');
  field.maximum = bound('maximum');
  field.exclusiveMinimum = bound('exclusiveMinimum');
  field.exclusiveMaximum = bound('exclusiveMaximum');
  const categories = raw.categories?.map((x) => (typeof x === 'object' ? x.value : x));
  const allowed = c.enum ?? categories;
  if (allowed) field.enum = [...new Set(allowed.map((v) => logical(v, 'enum')))];
  return field;
}

function readSchema(raw: unknown, dialect: Dialect, at: PropertyKey[], problems: Problems) {
  const s = parse(schemaShape, raw, at, problems);
  if (!s) return null;
  checkKeys(raw, Object.keys(schemaShape.shape), at, problems);
  if (s.fieldsMatch !== undefined && s.fieldsMatch !== 'exact') {
    problems.add([...at, 'fieldsMatch'], 'census-etl maps fields by their order: "exact" only');
  }
  const missing = valuesOf(s.missingValues ?? ['']);
  const fields = s.fields.map((f, i) => readField(f, missing, dialect, [...at, 'fields', i], problems));
  refuseRepeats(
    fields.map((f) => f.name),
    (i) => [...at, 'fields', i, 'name'],
    problems,
  );
  const names = new Set(fields.map((f) => f.name));
  const key = (k: string | string[] | undefined, where: PropertyKey[]) => {
    const list = typeof k === 'string' ? [k] : (k ?? []);
    for (const name of list)
      if (!names.has(name)) problems.add(where, `${JSON.stringify(name)} is not a field`);
    return list;
  };
  const primaryKey = key(s.primaryKey, [...at, 'primaryKey']);
  const uniqueKeys = (s.uniqueKeys ?? []).map((u, i) => key(u, [...at, 'uniqueKeys', i]));
  for (const f of fields) if (primaryKey.includes(f.name)) f.required = true;
  return { fields, primaryKey, uniqueKeys };
}

/** Reads a resource's schema or dialect given inline or as a path to a JSON file. */
export type ReadJson = (uri: string) => Promise<unknown>;

async function inlineOrFile(
  value: unknown,
  base: Base,
  at: PropertyKey[],
  problems: Problems,
  readJson: ReadJson,
): Promise<unknown> {
  if (typeof value !== 'string') return value;
  const uri = resolvePath(value, base, at, problems);
  if (!uri) return undefined;
  try {
    return await readJson(uri);
  } catch (e) {
    problems.add(at, `cannot read ${value}: ${(e as Error).message}`);
    return undefined;
  }
}

async function readTable(
  raw: unknown,
  at: PropertyKey[],
  base: Base,
  problems: Problems,
  readJson: ReadJson,
) {
  const r = parse(resourceShape, raw, at, problems);
  if (!r) return null;
  checkKeys(raw, Object.keys(resourceShape.shape), at, problems);
  const format = (r.format ?? 'csv').toLowerCase();
  if (!['csv', 'tsv', 'txt'].includes(format) && !(r.mediatype ?? '').startsWith('text/')) {
    problems.add(
      [...at, 'format'],
      `${JSON.stringify(r.format)}: census-etl reads delimited text (csv, tsv)`,
    );
  }
  const encoding = readEncoding(r.encoding, [...at, 'encoding'], problems);
  if (r.path === undefined) problems.add([...at, 'path'], 'is required: the CSV files of the resource');
  const paths = typeof r.path === 'string' ? [r.path] : (r.path ?? []);
  const hashes = r['censusEtl:hashes'];
  if (hashes && hashes.length !== paths.length) {
    problems.add([...at, 'censusEtl:hashes'], `lists ${hashes.length} hashes for ${paths.length} files`);
  }
  if (r.hash && paths.length > 1) {
    problems.add([...at, 'hash'], 'a resource of several files has no single hash: use censusEtl:hashes');
  }
  const files = paths.flatMap((p, i) => {
    const where = typeof r.path === 'string' ? [...at, 'path'] : [...at, 'path', i];
    const uri = resolvePath(p, base, where, problems);
    const given = hashes?.[i] ?? (i === 0 ? r.hash : undefined);
    const hashAt = hashes ? [...at, 'censusEtl:hashes', i] : [...at, 'hash'];
    const hash = given === undefined ? null : readHash(given, hashAt, problems);
    return uri ? [{ uri, name: path.posix.basename(p.replace(/[?#].*$/, '')), hash }] : [];
  });
  const tsv = format === 'tsv' ? { delimiter: '\t' } : {};
  const dialectRaw = await inlineOrFile(r.dialect, base, [...at, 'dialect'], problems, readJson);
  const dialect = readDialect({ ...tsv, ...(dialectRaw as object) }, encoding, [...at, 'dialect'], problems);
  if (r.schema === undefined) problems.add([...at, 'schema'], 'is required: census-etl types every column');
  const schemaRaw = await inlineOrFile(r.schema, base, [...at, 'schema'], problems, readJson);
  const schema = schemaRaw === undefined ? null : readSchema(schemaRaw, dialect, [...at, 'schema'], problems);
  if (!schema) return null;
  const lineage = r['censusEtl:lineage'] ?? DEFAULT_LINEAGE;
  for (const name of [lineage.source, lineage.line, ROWID]) {
    if (schema.fields.some((f) => f.name.toLowerCase() === name.toLowerCase())) {
      problems.add(
        [...at, 'schema', 'fields'],
        `a field is named ${JSON.stringify(name)}, a column census-etl adds: ` +
          (name === ROWID ? 'rename the field' : 'name the lineage columns otherwise with censusEtl:lineage'),
      );
    }
  }
  if (ownName(r.name)) {
    problems.add(
      [...at, 'name'],
      `${JSON.stringify(r.name)} is a table census-etl keeps for itself: rename the resource`,
    );
  }
  const table: Table = { name: r.name, title: r.title ?? null, files, encoding, dialect, lineage, ...schema };
  // The resource as one document: a schema or dialect given as a path is read into it.
  const inlined = { ...(raw as object), ...(dialectRaw === undefined ? {} : { dialect: dialectRaw }) };
  return { table, resource: { ...inlined, schema: schemaRaw } };
}

function readView(raw: unknown, at: PropertyKey[], problems: Problems): View | null {
  const v = parse(viewShape, raw, at, problems);
  if (!v) return null;
  const c = v.chart;
  const chart: ViewChart | null = c
    ? {
        title: c.title ?? v.title ?? v.name,
        category: c.category,
        categoryLabel: c.categoryLabel ?? c.category,
        measures: c.measures,
        count: c.count ?? null,
        format: c.format,
        axisTitle: c.axisTitle ?? c.measures.map((m) => m.label).join(', '),
        legendTitle: c.legendTitle ?? null,
        subtitle: c.subtitle ?? null,
      }
    : null;
  const sql = Array.isArray(v.sql) ? v.sql.join('\n') : v.sql;
  return {
    name: v.name,
    title: v.title ?? null,
    description: v.description ?? null,
    sql,
    report: v.report,
    columns: v.columns,
    chart,
  };
}

/**
 * The dataset a descriptor describes. `base` is where its relative paths start; `readJson`
 * reads a schema or dialect given as a path. Throws a UsageError listing every fault.
 */
export async function readDescriptor(
  descriptor: unknown,
  origin: string,
  base: Base,
  readJson: ReadJson,
): Promise<{ dataset: Dataset; notes: string[] }> {
  const problems = new Problems();
  const p = parse(packageShape, descriptor, [], problems);
  problems.refuseIfAny(origin);
  checkKeys(descriptor, Object.keys(packageShape.shape), [], problems);
  const tables: Table[] = [];
  const resources: object[] = [];
  for (const [i, raw] of p!.resources.entries()) {
    const t = await readTable(raw, ['resources', i], base, problems, readJson);
    if (t) {
      tables.push(t.table);
      resources.push(t.resource);
    }
  }
  const names = tables.map((t) => t.name);
  refuseRepeats(names, (i) => ['resources', i, 'name'], problems);
  const views = (p!['censusEtl:views'] ?? []).flatMap(
    (v, i) => readView(v, ['censusEtl:views', i], problems) ?? [],
  );
  for (const [i, v] of views.entries()) {
    if (taken(names, v.name) || ownName(v.name)) {
      problems.add(['censusEtl:views', i, 'name'], `${JSON.stringify(v.name)} is already a table or view`);
    }
  }
  problems.refuseIfAny(origin);
  const name = p!.name ?? 'dataset';
  const whole = { ...(descriptor as object), resources };
  return {
    dataset: { name, title: p!.title ?? null, tables, views, descriptor: whole },
    notes: problems.notes,
  };
}
