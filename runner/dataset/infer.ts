/**
 * `census-etl infer`: a starting Frictionless Data Package v2 descriptor for CSV files, one
 * resource each, for a person to read, check and edit before loading with it.
 *
 * From a bounded sample of each file (whole records only) it decides the dialect (delimiter,
 * header, skipInitialSpace), the fields and their types, with the loader's own casts
 * (types.ts: castText), so that what infer calls an integer is what the loader loads as one;
 * `required` and `enum` where the sample supports them. Each file is then streamed once for its
 * size and SHA-256. Whatever a person should check comes back as notes, one line each.
 * Reading the files is the only I/O; the decisions are pure functions of the sample.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { UsageError } from '../shared/errors.ts';
import { DEFAULT_LINEAGE, OWN_TABLES, OWN_VIEWS } from './descriptor.ts';
import { ROWID, type Field, type FieldType } from './model.ts';
import { castText, isInvalid } from './types.ts';

/** How much of each file the dialect and the types are inferred from, by default. */
export const DEFAULT_SAMPLE_BYTES = 1 << 20;

const PROFILES = 'https://datapackage.org/profiles/2.0/';
/** The delimiters tried, in the order that breaks a tie. */
const DELIMITERS = [',', ';', '\t', '|'];
/** Texts that often mean "no value": taken as missing in a column they would otherwise not fit. */
const MISSING_TOKENS = ['NA', 'N/A', '?'];
/** `enum` for a text column with at most this many distinct values, seen in at least as many records. */
const ENUM_MAX_VALUES = 20;
const ENUM_MIN_RECORDS = 100;
/** A typed column may have this share of values that are not of its type (they are quarantined)... */
const STRAY_SHARE = 0.01;
/** ...when the sample has at least this many values in it (one stray in 100). */
const STRAY_MIN_VALUES = 100;

export type InferOptions = {
  /** Bytes read from the start of each file to infer from (default 1 MiB); whole records only. */
  sampleBytes?: number;
  /** The package's name (default: the resource's name for one file, else "dataset"). */
  name?: string;
  /**
   * The folder the descriptor will be written to: resource paths are relative to it, and every
   * file must be inside it. Default: the deepest folder that holds all the files (and a note).
   */
  outDir?: string;
};

export type Inferred = { descriptor: Record<string, unknown>; notes: string[] };

const count = (n: number) => n.toLocaleString('en-US');
/** "1 record", "2 records". */
const counted = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;
const quoted = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

// ---------------------------------------------------------------------------------------------
// Reading: a bounded sample, the whole file's hash.

/**
 * The start of a file as text: whole lines only, without its BOM; UTF-8 when it is, else read as
 * windows-1252 (`nonUtf8Line` says where it stopped being UTF-8).
 */
type Sample = {
  text: string;
  sampled: number;
  size: number;
  whole: boolean;
  /** The first line that is not UTF-8 (the sample is then read as windows-1252), or null. */
  nonUtf8Line: number | null;
};

const BOMS: [string, number[]][] = [
  ['UTF-32', [0xff, 0xfe, 0x00, 0x00]],
  ['UTF-32', [0x00, 0x00, 0xfe, 0xff]],
  ['UTF-16', [0xff, 0xfe]],
  ['UTF-16', [0xfe, 0xff]],
];

function cannotRead(file: string, e: unknown): UsageError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return new UsageError(`${file}: no such file`);
  if (err.code === 'EISDIR') return new UsageError(`${file}: is a folder, not a CSV file`);
  return new UsageError(`${file}: cannot be read: ${err.message}`);
}

/** The line (1-based) of the first line of `bytes` that is not UTF-8. */
function firstNonUtf8Line(bytes: Buffer): number {
  let line = 1;
  for (let start = 0; start < bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start);
    const stop = end < 0 ? bytes.length : end;
    if (!isUtf8(bytes.subarray(start, stop))) return line;
    start = stop + 1;
  }
  return line;
}

async function readSample(file: string, sampleBytes: number): Promise<Sample> {
  const handle = await open(file, 'r').catch((e) => {
    throw cannotRead(file, e);
  });
  let bytes: Buffer;
  let size: number;
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new UsageError(`${file}: not a regular file`);
    size = stats.size;
    bytes = Buffer.alloc(Math.min(size, sampleBytes));
    let read = 0;
    while (read < bytes.length) {
      const { bytesRead } = await handle.read(bytes, read, bytes.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    bytes = bytes.subarray(0, read);
  } catch (e) {
    throw e instanceof UsageError ? e : cannotRead(file, e);
  } finally {
    await handle.close();
  }
  for (const [encoding, bom] of BOMS) {
    if (bom.every((b, i) => bytes[i] === b)) {
      throw new UsageError(
        `${file}: ${encoding} text (it starts with a ${encoding} byte order mark): ` +
          'census-etl reads UTF-8; convert it first (e.g. iconv -t UTF-8)',
      );
    }
  }
  const whole = bytes.length === size;
  if (!whole) {
    // Whole lines only ("\n" is never inside a multi-byte character); whole records: parseSample.
    const end = bytes.lastIndexOf(0x0a);
    if (end < 0) {
      throw new UsageError(
        `${file}: no line end in its first ${count(bytes.length)} bytes: ` +
          'not a CSV file, or a record longer than the sample (give a larger sample)',
      );
    }
    bytes = bytes.subarray(0, end + 1);
  }
  const sampled = bytes.length;
  if (!isUtf8(bytes)) {
    // The most common encoding of files that are not UTF-8; a note says to check it.
    const text = new TextDecoder('windows-1252').decode(bytes);
    return { text, sampled, size, whole, nonUtf8Line: firstNonUtf8Line(bytes) };
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  return { text, sampled, size, whole, nonUtf8Line: null };
}

/** `sha256:<hex>` of the whole file, streamed (memory bounded by the stream's chunks). */
async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (e) {
    throw cannotRead(file, e);
  }
  return `sha256:${hash.digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// The dialect.

type Parsed = { records: string[][]; error: string | null };

/**
 * The records of a sample as csv-parse reads them with this delimiter (quotes `"`, LF or CRLF).
 * A sample cut short may end inside a quoted field: that last record is partial and left out.
 */
function parseSample(text: string, delimiter: string, ltrim: boolean, whole: boolean): Parsed {
  const records: string[][] = [];
  try {
    parse(text, {
      delimiter,
      quote: '"',
      ltrim,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      record_delimiter: ['\r\n', '\n'],
      on_record: (record: string[]) => {
        records.push(record);
        return null;
      },
    });
  } catch (e) {
    if (whole || (e as { code?: string }).code !== 'CSV_QUOTE_NOT_CLOSED') {
      return { records, error: (e as Error).message };
    }
  }
  return { records, error: null };
}

type Split = { delimiter: string; records: string[][]; fields: number; share: number };

/** The most frequent field count (the larger on a tie), and the share of records that have it. */
function split(delimiter: string, records: string[][]): Split {
  const frequency = new Map<number, number>();
  for (const r of records) frequency.set(r.length, (frequency.get(r.length) ?? 0) + 1);
  let [fields, most] = [0, 0];
  for (const [n, times] of frequency)
    if (times > most || (times === most && n > fields)) [fields, most] = [n, times];
  return { delimiter, records, fields, share: most / records.length };
}

/**
 * The delimiter that splits the sample's records most consistently into more than one field
 * (then: into more fields; then: the earlier in DELIMITERS). Parsed with leading blanks trimmed,
 * so that `, "a, b"` reads as one quoted field whether or not the file has skipInitialSpace.
 */
function sniffDelimiter(file: string, text: string, whole: boolean): { best: Split; tiedWith: Split | null } {
  const splits: Split[] = [];
  let error: string | null = null;
  for (const d of DELIMITERS) {
    const parsed = parseSample(text, d, true, whole);
    if (parsed.error) error ??= parsed.error;
    else if (parsed.records.length) splits.push(split(d, parsed.records));
  }
  if (!splits.length) {
    throw new UsageError(
      error ? `${file}: cannot be read as CSV: ${error}` : `${file}: no records: nothing to infer from`,
    );
  }
  const several = splits.filter((s) => s.fields > 1).sort((a, b) => b.share - a.share || b.fields - a.fields);
  const best = several[0] ?? splits.find((s) => s.delimiter === ',') ?? splits[0];
  const tiedWith = several.length > 1 && several[1].share === best.share ? several[1] : null;
  return { best, tiedWith };
}

/** Whether every delimiter between fields (outside quoted fields) is followed by a space. */
function spaceAfterEveryDelimiter(text: string, delimiter: string): boolean {
  let seen = 0;
  let fieldStart = true;
  for (let i = 0; i < text.length;) {
    if (fieldStart) {
      fieldStart = false;
      while (text[i] === ' ') i++;
      if (text[i] === '"') {
        // A quoted field: to its closing quote (a doubled quote is one quote inside it).
        for (i++; i < text.length; i++) {
          if (text[i] !== '"') continue;
          if (text[i + 1] !== '"') break;
          i++;
        }
        i++;
      }
      continue;
    }
    const c = text[i++];
    if (c === delimiter) {
      seen++;
      if (text[i] !== ' ') return false;
      fieldStart = true;
    } else if (c === '\n') fieldStart = true;
  }
  return seen > 0;
}

// ---------------------------------------------------------------------------------------------
// Types: each column's values tried against the loader's casts.

/** A field as readDescriptor makes it from `{ name, type, format }` alone: what castText is given. */
const castField = (type: FieldType, format = 'default'): Field => ({
  name: '',
  type,
  format,
  missingValues: [''],
  required: false,
  unique: false,
  enum: null,
  minimum: null,
  maximum: null,
  exclusiveMinimum: null,
  exclusiveMaximum: null,
  minLength: null,
  maxLength: null,
  pattern: null,
  trueValues: ['true', 'True', 'TRUE', '1'],
  falseValues: ['false', 'False', 'FALSE', '0'],
  decimalChar: '.',
  groupChar: null,
  bareNumber: true,
  dropSuffix: null,
});

const LEADING_ZERO = /^[+-]?0\d/;
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER_TEXT = /^[+-]?\d+$/;
const SPECIAL_NUMBER = /^[+-]?(?:nan|inf|infinity)$/i;
const BOOLEAN_TEXT = /^(?:true|false|True|False|TRUE|FALSE)$/;
const WITH_TIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/;

type Kind = { type: FieldType; format: string | null; accepts: (v: string) => boolean };
/** A type: its values are those castText takes for such a field that also pass `also` (trimmed). */
function kind(type: FieldType, format: string | null, also?: (trimmed: string) => boolean): Kind {
  const field = castField(type, format ?? 'default');
  const accepts = (v: string) => (!also || also(v.trim())) && !isInvalid(castText(field, v));
  return { type, format, accepts };
}
/** The types tried, narrowest first (codes such as "01" and NaN are text before: textReason). */
const KINDS: Kind[] = [
  kind('integer', null),
  kind('number', null, (t) => PLAIN_NUMBER.test(t)),
  // true and false only: 1 and 0 are integers, yes and no texts.
  kind('boolean', null, (t) => BOOLEAN_TEXT.test(t)),
  kind('date', null),
  kind('datetime', null),
  // "2024-03-01 10:00" and such, as people write them: ISO 8601 less its T or its seconds.
  kind('datetime', 'any', (t) => WITH_TIME.test(t)),
  // A time of day as the standard writes it (hh:mm:ss); "10:30" and such stay text.
  kind('time', null),
];

/** What the values of one column say about its field. */
type Guess = {
  type: FieldType;
  format: string | null;
  /** Missing values besides "" (NA, N/A, ? when they are all that keeps the column from its type). */
  missing: string[];
  /** Values (neither "" nor in `missing`) that are not of the type: they would be quarantined. */
  strays: { count: number; examples: string[] };
  values: number;
  missingCount: number;
  /** Why a column that looks typed stays text, for a note. */
  textBecause: string | null;
  /** Distinct texts of a text column and their counts (null past ENUM_MAX_VALUES). */
  distinct: Map<string, number> | null;
  /** How often NA, N/A or ? appear in a text column. */
  tokens: Map<string, number>;
};

function textReason(present: string[]): string | null {
  const zeros = present.find((v) => LEADING_ZERO.test(v.trim()) && PLAIN_NUMBER.test(v.trim()));
  if (zeros !== undefined) return `values have leading zeros (e.g. ${quoted(zeros)}), as codes do`;
  const special = present.find((v) => SPECIAL_NUMBER.test(v.trim()));
  if (special !== undefined) return `${quoted(special)} is not a number census-etl stores`;
  const large = present.find((v) => INTEGER_TEXT.test(v.trim()) && !Number.isSafeInteger(Number(v)));
  if (large !== undefined) {
    return `${quoted(large)} is beyond ±2^53, past which integers are not loaded exactly`;
  }
  return null;
}

/** The type of a column from its values, conservatively: text unless every value (or all but a few) fit. */
function guessColumn(values: readonly string[]): Guess {
  const present = values.filter((v) => v !== '');
  const guess: Guess = {
    type: 'string',
    format: null,
    missing: [],
    strays: { count: 0, examples: [] },
    values: present.length,
    missingCount: values.length - present.length,
    textBecause: present.length ? textReason(present) : 'no values',
    distinct: null,
    tokens: new Map(),
  };
  const typed = (kind: Kind, rest: string[]) => {
    const missing = MISSING_TOKENS.filter((t) => present.includes(t));
    const strays = rest.filter((v) => !kind.accepts(v));
    const n = present.length - rest.length;
    return {
      ...guess,
      type: kind.type,
      format: kind.format,
      missing,
      strays: { count: strays.length, examples: [...new Set(strays)].slice(0, 3) },
      values: rest.length,
      missingCount: guess.missingCount + n,
    };
  };
  if (guess.textBecause === null) {
    const exact = KINDS.find((k) => present.every(k.accepts));
    if (exact) return typed(exact, present);
    const rest = present.filter((v) => !MISSING_TOKENS.includes(v));
    if (rest.length && rest.length < present.length) {
      const withMissing = KINDS.find((k) => rest.every(k.accepts));
      if (withMissing) return typed(withMissing, rest);
    }
    if (rest.length >= STRAY_MIN_VALUES) {
      let best: { kind: Kind; strays: number } | null = null;
      for (const kind of KINDS) {
        const strays = rest.reduce((n, v) => (kind.accepts(v) ? n : n + 1), 0);
        if (strays <= rest.length * STRAY_SHARE && (!best || strays < best.strays)) best = { kind, strays };
      }
      if (best) return typed(best.kind, rest);
    }
  }
  const distinct = new Map<string, number>();
  for (const v of present) {
    if (MISSING_TOKENS.includes(v)) guess.tokens.set(v, (guess.tokens.get(v) ?? 0) + 1);
    if (distinct.size <= ENUM_MAX_VALUES || distinct.has(v)) distinct.set(v, (distinct.get(v) ?? 0) + 1);
  }
  guess.distinct = distinct.size <= ENUM_MAX_VALUES ? distinct : null;
  return guess;
}

/** Whether a lone value is typed (a number, a date...): a header is made of text. */
const isTyped = (v: string) => v !== '' && guessColumn([v]).type !== 'string';

// ---------------------------------------------------------------------------------------------
// Names.

/** Lowercase letters, digits, "_" and "-": a resource name from a file name (less its extension). */
function resourceName(file: string, withExtension = false): string {
  const base = (withExtension ? path.basename(file) : path.parse(file).name).toLowerCase();
  return (
    base
      .replace(/[^a-z0-9_-]+/g, '_')
      .replace(/_+/g, '_')
      .replace(/^_|_$/g, '') || 'resource'
  );
}

/** `name`, or `name_2`, `name_3`... the first not taken (compared case-insensitively, as SQL does). */
function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate.toLowerCase()); i++) candidate = `${name}_${i}`;
  taken.add(candidate.toLowerCase());
  return candidate;
}

/** The field names from a header (or field1..n), unique, none a column census-etl adds itself. */
function fieldNames(header: string[] | null, n: number, notes: string[]): string[] {
  const taken = new Set([ROWID]);
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const label = header?.[i] ?? '';
    const name = unique(label || `field${i + 1}`, taken);
    if (header && !label) notes.push(`header column ${i + 1} is empty: field named ${quoted(name)}`);
    else if (header && name !== label) {
      const earlier = names.findIndex((x) => x.toLowerCase() === label.toLowerCase());
      const why =
        label.toLowerCase() === ROWID
          ? `is a column census-etl adds (${ROWID})`
          : `repeats column ${earlier + 1}${names[earlier] === label ? '' : ' (as SQL compares names)'}`;
      notes.push(
        `header column ${i + 1} ${quoted(label)} ${why}: field named ${quoted(name)}; ` +
          'the header check will report it: rename the column in the file too',
      );
    }
    names.push(name);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// One resource.

/** Whether the first record is a header, why (a note), and the columns' guesses from the rest. */
type HeaderDecision = { header: boolean; note: string; body: Guess[] | null };

function decideHeader(records: string[][], n: number): HeaderDecision {
  const first = records[0];
  if (first.length !== n) {
    const note = `no header row (its first record has ${counted(first.length, 'field')}, not ${n})`;
    return { header: false, note, body: null };
  }
  const typedCell = first.find(isTyped);
  if (typedCell !== undefined) {
    const note = `no header row (the first row holds values such as ${quoted(typedCell)})`;
    return { header: false, note, body: null };
  }
  const rest = records.slice(1).filter((r) => r.length === n);
  const body = Array.from({ length: n }, (_, k) => guessColumn(rest.map((r) => r[k])));
  const j = body.findIndex((g, k) => g.type !== 'string' && first[k] !== '' && !g.missing.includes(first[k]));
  if (j >= 0) {
    const above = `${quoted(first[j])} above ${body[j].type} values`;
    return { header: true, note: `first row taken as the header: text above typed columns (${above})`, body };
  }
  const names = first.filter((v) => v !== '');
  if (names.length === n && new Set(names).size === n) {
    const note =
      'header guessed: every column is text, so the first row may be data; if it is, set header: false';
    return { header: true, note, body };
  }
  const note = 'header guessed absent: every column is text and the first row has empty or repeated cells';
  return { header: false, note, body: null };
}

type FileFacts = { file: string; name: string; relPath: string; sample: Sample; hash: string };

function inferResource(f: FileFacts): { resource: Record<string, unknown>; notes: string[] } {
  const notes: string[] = [];
  const { text, whole } = f.sample;
  if (f.sample.nonUtf8Line !== null) {
    notes.push(
      `not UTF-8 (line ${count(f.sample.nonUtf8Line)} is not): read as windows-1252; ` +
        "if it is another encoding (iso-8859-15, koi8-r…), set the resource's encoding",
    );
  }
  const { best, tiedWith } = sniffDelimiter(f.file, text, whole);
  const { delimiter, fields: n } = best;
  const skipInitialSpace = n > 1 && spaceAfterEveryDelimiter(text, delimiter);
  let records = best.records;
  if (!skipInitialSpace) {
    const plain = parseSample(text, delimiter, false, whole);
    if (plain.error) throw new UsageError(`${f.file}: cannot be read as CSV: ${plain.error}`);
    records = plain.records;
  }
  if (tiedWith) {
    notes.push(
      `delimiter ${JSON.stringify(delimiter)} chosen over ${JSON.stringify(tiedWith.delimiter)}, ` +
        'which splits the records as consistently: check',
    );
  }
  const { header, note: headerNote, body } = decideHeader(records, n);
  notes.push(headerNote);
  const rows = header ? records.slice(1) : records;
  const irregular = rows.filter((r) => r.length !== n);
  if (irregular.length) {
    const first = rows.findIndex((r) => r.length !== n) + 1 + (header ? 1 : 0);
    const one = irregular.length === 1;
    notes.push(
      `${count(irregular.length)} of ${counted(rows.length, 'record')} ${one ? 'does' : 'do'} not ` +
        `have ${n} fields (${one ? 'record' : 'the first is record'} ${count(first)}): ` +
        `${one ? 'it' : 'they'} would be quarantined`,
    );
  }
  const regular = rows.filter((r) => r.length === n);
  const names = fieldNames(header ? records[0] : null, n, notes);
  if (!header) notes.push(`fields named field1..field${n}: give them names`);

  const fields = names.map((name, j) => {
    const g = body?.[j] ?? guessColumn(regular.map((r) => r[j]));
    const at = `field ${quoted(name)}`;
    const field: Record<string, unknown> = { name, type: g.type };
    if (g.format) field.format = g.format;
    if (g.missing.length) {
      field.missingValues = ['', ...g.missing];
      notes.push(`${at}: ${g.missing.map((m) => JSON.stringify(m)).join(', ')} taken as missing values`);
    }
    if (g.strays.count) {
      const examples = g.strays.examples.map(quoted).join(', ');
      notes.push(
        `${at}: ${g.type}, though ${count(g.strays.count)} of ${count(g.values)} values ` +
          `${g.strays.count === 1 ? 'is' : 'are'} not (${examples}): ` +
          `${g.strays.count === 1 ? 'it' : 'they'} would be quarantined`,
      );
    }
    if (g.type === 'string' && g.textBecause && g.textBecause !== 'no values') {
      notes.push(`${at}: text, as ${g.textBecause}`);
    }
    if (g.textBecause === 'no values') notes.push(`${at}: no values in the sample: typed string`);
    for (const [token, times] of g.tokens) {
      notes.push(
        `${at}: ${JSON.stringify(token)} appears ${counted(times, 'time')}: ` +
          'if it means "no value", add it to the field\'s missingValues',
      );
    }
    const constraints: Record<string, unknown> = {};
    if (whole && g.missingCount === 0 && g.values > 0) constraints.required = true;
    if (g.type === 'string' && g.distinct && g.distinct.size > 0 && regular.length >= ENUM_MIN_RECORDS) {
      constraints.enum = [...g.distinct.keys()].sort();
      notes.push(
        `${at}: enum of the ${g.distinct.size === 1 ? 'one value' : `${g.distinct.size} values`} ` +
          `seen in ${count(regular.length)} records: ` +
          'a value outside it would be quarantined',
      );
    }
    if (Object.keys(constraints).length) field.constraints = constraints;
    return field;
  });
  const required = fields.filter((x) => (x.constraints as { required?: boolean } | undefined)?.required);
  if (required.length) {
    notes.push(`required (no missing value in the file): ${required.map((x) => x.name).join(', ')}`);
  }

  const dialect: Record<string, unknown> = { $schema: `${PROFILES}tabledialect.json`, header };
  if (delimiter !== ',') dialect.delimiter = delimiter;
  if (!text.includes('\r\n') && text.includes('\n')) dialect.lineTerminator = '\n';
  if (skipInitialSpace) dialect.skipInitialSpace = true;

  const tsv = delimiter === '\t' && path.extname(f.file).toLowerCase() === '.tsv';
  const resource: Record<string, unknown> = {
    name: f.name,
    type: 'table',
    path: f.relPath,
    format: tsv ? 'tsv' : 'csv',
    mediatype: tsv ? 'text/tab-separated-values' : 'text/csv',
    encoding: f.sample.nonUtf8Line === null ? 'utf-8' : 'windows-1252',
    bytes: f.sample.size,
    hash: f.hash,
    dialect,
    schema: { $schema: `${PROFILES}tableschema.json`, fields },
  };
  const lower = new Set(names.map((x) => x.toLowerCase()));
  if (lower.has(DEFAULT_LINEAGE.source) || lower.has(DEFAULT_LINEAGE.line)) {
    const lineage = {
      source: unique('_source_file', new Set(lower)),
      line: unique('_source_line', new Set(lower)),
    };
    resource['censusEtl:lineage'] = lineage;
    notes.push(
      `a field is named ${DEFAULT_LINEAGE.source} or ${DEFAULT_LINEAGE.line}: lineage columns named ` +
        `${lineage.source} and ${lineage.line} (censusEtl:lineage)`,
    );
  }
  const sampled = regular.length + irregular.length;
  if (!whole) {
    notes.unshift(
      `read the first ${count(f.sample.sampled)} of ${count(f.sample.size)} bytes (${count(sampled)} ` +
        'records): types, enums and header come from that sample; check them against the rest',
    );
  }
  return { resource, notes: notes.map((x) => `${f.name}: ${x}`) };
}

// ---------------------------------------------------------------------------------------------
// The package.

/** The deepest folder that holds every file. */
function commonFolder(files: readonly string[]): string {
  const folders = files.map((f) => path.dirname(path.resolve(f)).split(path.sep));
  let depth = folders[0].length;
  for (const parts of folders) {
    let i = 0;
    while (i < depth && parts[i] === folders[0][i]) i++;
    depth = i;
  }
  return folders[0].slice(0, depth).join(path.sep) || path.sep;
}

/** The file's path as the descriptor names it: POSIX, relative, inside the descriptor's folder. */
function relativePath(file: string, outDir: string): string {
  const rel = path.relative(outDir, path.resolve(file)).split(path.sep).join('/');
  if (rel === '' || rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
    throw new UsageError(
      `${file}: not inside ${outDir}, the descriptor's folder: a Data Package names its files by ` +
        'relative paths inside its folder (write the descriptor beside or above the files)',
    );
  }
  if (/^[.~]/.test(rel)) {
    throw new UsageError(`${file}: a Data Package path cannot start with "." or "~": rename the file`);
  }
  return rel;
}

/**
 * A starting descriptor for `files` (one resource each), and the notes a person should read:
 * every decision that was a guess. Throws a UsageError naming the file for a file that cannot
 * be one: missing, empty, UTF-16/32, not delimited text, outside `outDir`.
 */
export async function inferDescriptor(files: string[], options: InferOptions = {}): Promise<Inferred> {
  const sampleBytes = options.sampleBytes ?? DEFAULT_SAMPLE_BYTES;
  if (!Number.isSafeInteger(sampleBytes) || sampleBytes < 1) {
    throw new UsageError(`sampleBytes must be a positive integer, not ${sampleBytes}`);
  }
  if (!files.length) throw new UsageError('no files to infer a descriptor from');
  const notes: string[] = [];
  const outDir = path.resolve(options.outDir ?? commonFolder(files));
  if (options.outDir === undefined) {
    notes.push(`paths are relative to ${outDir}: save the descriptor in that folder`);
  }
  const taken = new Set([...OWN_TABLES, ...OWN_VIEWS]);
  const resources: Record<string, unknown>[] = [];
  for (const file of files) {
    const relPath = relativePath(file, outDir);
    const base = resourceName(file);
    // Adult.data and Adult.test: adult and adult_test; a/x.csv and b/x.csv: x and x_2.
    const plain = /^\.(csv|tsv|txt)$/i.test(path.extname(file));
    const name = unique(taken.has(base) && !plain ? resourceName(file, true) : base, taken);
    const sample = await readSample(file, sampleBytes);
    if (!sample.text.trim()) throw new UsageError(`${file}: no records: nothing to infer from`);
    const hash = await sha256(file);
    const inferred = inferResource({ file, name, relPath, sample, hash });
    if (name !== base) {
      const why = [...OWN_TABLES, ...OWN_VIEWS].includes(base)
        ? 'is a table census-etl keeps for itself'
        : 'names another resource';
      inferred.notes.unshift(`${name}: resource named ${quoted(name)}, as ${quoted(base)} ${why}`);
    }
    resources.push(inferred.resource);
    notes.push(...inferred.notes);
  }
  const descriptor = {
    $schema: `${PROFILES}datapackage.json`,
    name: options.name ?? (resources.length === 1 ? (resources[0].name as string) : 'dataset'),
    resources,
  };
  return { descriptor, notes };
}
