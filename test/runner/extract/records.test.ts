/**
 * Record boundaries (RecordScanner): the one reading of a file's bytes that staging and the
 * parser threads share. However the bytes arrive (whole, or in chunks of any size), the same
 * records: quoted fields may hold delimiters, doubled quotes and line ends; LF and CRLF end
 * records alike; a record longer than the limit ends at the first line end past it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RecordScanner, type RecordSpan, type RecordSyntax } from '../../../runner/extract/records.ts';

const QUOTE = '"'.charCodeAt(0);
const BACKSLASH = '\\'.charCodeAt(0);
const syntax = (o: Partial<RecordSyntax> = {}): RecordSyntax => ({
  quote: QUOTE,
  escape: -1,
  doubleQuote: true,
  delimiter: Buffer.from(','),
  skipInitialSpace: false,
  maxBytes: 1 << 20,
  ...o,
});

/** The records of `bytes`, fed in chunks cut at `cuts` (offsets), starting at `at` on line 1. */
function scan(s: RecordSyntax, bytes: Uint8Array, cuts: readonly number[] = [], at = 0): RecordSpan[] {
  const out: RecordSpan[] = [];
  const scanner = new RecordScanner(s, (r) => out.push(r), at, 1);
  const points = [...new Set([at, ...cuts.filter((c) => c > at && c < bytes.length), bytes.length])].sort(
    (a, b) => a - b,
  );
  for (let i = 0; i + 1 < points.length; i++) {
    scanner.push(bytes.subarray(points[i], points[i + 1]), points[i]);
  }
  scanner.finish(bytes.length);
  return out;
}

/** Cuts every `size` bytes from `at`. */
const every = (size: number, length: number, at = 0) =>
  Array.from({ length: Math.ceil((length - at) / size) }, (_, i) => at + i * size);

/** The records as texts, to read in a failure. */
const texts = (bytes: Uint8Array, spans: readonly RecordSpan[]) =>
  spans.map((r) => Buffer.from(bytes.subarray(r.start, r.end)).toString('utf8'));

/** Asserts that every chunk size from 1 to the length gives the records the whole bytes give. */
function assertChunkingIrrelevant(s: RecordSyntax, bytes: Uint8Array, at = 0): RecordSpan[] {
  const whole = scan(s, bytes, [], at);
  for (let size = 1; size <= bytes.length; size++) {
    assert.deepEqual(scan(s, bytes, every(size, bytes.length, at), at), whole, `chunks of ${size} bytes`);
  }
  return whole;
}

/** A field's text: letters, the delimiter, quotes, line ends, a space, a multi-byte character. */
const fieldText = fc.string({
  unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é', '€'),
  maxLength: 8,
});

/** A field as a CSV writer writes it: quoted (quotes doubled) when it must be, sometimes when not. */
const csvField = fc
  .tuple(fieldText, fc.boolean())
  .map(([t, quoteAnyway]) => (quoteAnyway || /[,"\r\n]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t));

/** A file of records, each ended by LF or CRLF, the last maybe by nothing; and its records. */
const csvFile = fc
  .array(fc.tuple(fc.array(csvField, { minLength: 1, maxLength: 5 }), fc.constantFrom('\n', '\r\n')), {
    minLength: 1,
    maxLength: 8,
  })
  .chain((records) => fc.tuple(fc.constant(records), fc.boolean()))
  .map(([records, lastEnded]) => {
    const texts = records.map(([fields, end], i) =>
      i === records.length - 1 && !lastEnded ? fields.join(',') : fields.join(',') + end,
    );
    // The last record without a line end and without a byte is no record.
    return texts.filter((t) => t.length > 0);
  });

/** The records as a CSV reader reads them: where each starts and ends, and its physical lines. */
function expectedSpans(records: readonly string[], at = 0): RecordSpan[] {
  let start = at;
  let line = 1;
  return records.map((text) => {
    const end = start + Buffer.byteLength(text);
    const newlines = text.split('\n').length - 1;
    const lines = text.endsWith('\n') ? newlines : newlines + 1;
    const span = { start, end, line, lines, overlong: false };
    start = end;
    line += lines;
    return span;
  });
}

test('chunks of every size give the records of the whole file, as a CSV writer wrote them', () => {
  fc.assert(
    fc.property(csvFile, fc.boolean(), (records, bom) => {
      const prefix = bom ? '\uFEFF' : '';
      const bytes = Buffer.from(prefix + records.join(''));
      const at = Buffer.byteLength(prefix);
      const whole = assertChunkingIrrelevant(syntax(), bytes, at);
      assert.deepEqual(whole, expectedSpans(records, at), texts(bytes, whole).join(' | '));
    }),
    { numRuns: 300 },
  );
});

test('arbitrary cuts give the same records too', () => {
  fc.assert(
    fc.property(csvFile, fc.array(fc.nat(200)), (records, cuts) => {
      const bytes = Buffer.from(records.join(''));
      assert.deepEqual(scan(syntax(), bytes, cuts), expectedSpans(records));
    }),
    { numRuns: 500 },
  );
});

test('any bytes, any limit, with or without quoting: chunking never changes the records', () => {
  const unit = fc.constantFrom('a', ',', '"', '\\', '\n', '\r', ' ', 'é');
  fc.assert(
    fc.property(
      fc.string({ unit, maxLength: 60 }),
      fc.integer({ min: 1, max: 40 }),
      fc.constantFrom(QUOTE, -1),
      fc.constantFrom(BACKSLASH, -1),
      (text, maxBytes, quote, escape) => {
        const bytes = Buffer.from(text);
        const whole = assertChunkingIrrelevant(syntax({ quote, escape, maxBytes }), bytes);
        // Every byte belongs to exactly one record, in order.
        let at = 0;
        for (const r of whole) {
          assert.equal(r.start, at);
          assert.ok(r.end > r.start);
          at = r.end;
        }
        assert.equal(at, bytes.length);
        // A record past the limit ends at a line end (or the file's end), and says so.
        for (const r of whole) assert.equal(r.overlong, r.end - r.start > maxBytes);
      },
    ),
    { numRuns: 1000 },
  );
});

test('a record spanning lines is numbered by its first line, the next by its own', () => {
  const bytes = Buffer.from('h1,h2\n1,"two\nlines"\n2,"three\r\nlines\nhere"\r\n3,x');
  const spans = scan(syntax(), bytes);
  assert.deepEqual(texts(bytes, spans), [
    'h1,h2\n',
    '1,"two\nlines"\n',
    '2,"three\r\nlines\nhere"\r\n',
    '3,x',
  ]);
  assert.deepEqual(
    spans.map((r) => [r.line, r.lines]),
    [
      [1, 1],
      [2, 2],
      [4, 3],
      [7, 1],
    ],
  );
});

test('without quoting (quoteChar ""), a quote is a character like any other', () => {
  const bytes = Buffer.from('a,"b\nc"\n');
  const spans = scan(syntax({ quote: -1 }), bytes);
  assert.deepEqual(texts(bytes, spans), ['a,"b\n', 'c"\n']);
});

test('an escape character keeps the quote after it inside the field', () => {
  const bytes = Buffer.from('1,"a\\"\nb"\n2,c\n');
  const spans = scan(syntax({ escape: BACKSLASH }), bytes);
  assert.deepEqual(texts(bytes, spans), ['1,"a\\"\nb"\n', '2,c\n']);
  assert.deepEqual(
    spans.map((r) => r.line),
    [1, 3],
  );
});

test('an overlong line ends at its own line end, flagged; the records after it are as ever', () => {
  const bytes = Buffer.from(`a,b\n${','.repeat(2000)}\nc,d\n`);
  const spans = assertChunkingIrrelevant(syntax({ maxBytes: 1024 }), bytes);
  assert.deepEqual(
    spans.map((r) => [r.start, r.end, r.line, r.lines, r.overlong]),
    [
      [0, 4, 1, 1, false],
      [4, 2005, 2, 1, true],
      [2005, 2009, 3, 1, false],
    ],
  );
});

test('an unterminated quote ends at the first line end past the limit, not at the end of the file', () => {
  const lines = Array.from({ length: 100 }, (_, i) => `${i},some text`);
  const bytes = Buffer.from(`x,"never closed\n${lines.join('\n')}\n`);
  const spans = scan(syntax({ maxBytes: 256 }), bytes, every(7, bytes.length));
  const first = spans[0];
  assert.equal(first.overlong, true);
  assert.equal(first.line, 1);
  // It ends at the first line end that takes it past 256 bytes...
  const firstLineEndPast = bytes.indexOf('\n', 256 - 1) + 1;
  assert.equal(first.end, firstLineEndPast);
  assert.equal(first.lines, bytes.subarray(0, first.end).toString().split('\n').length - 1);
  // ...and every line after it is a record of its own, on its own line.
  const rest = spans.slice(1);
  assert.ok(rest.every((r) => !r.overlong && r.lines === 1));
  assert.deepEqual(
    rest.map((r) => r.line),
    rest.map((_, i) => first.line + first.lines + i),
  );
  assert.equal(rest.at(-1)!.end, bytes.length);
});

test('CRLF line ends: the CR stays in the record, which ends after the LF; a lone CR ends nothing', () => {
  const bytes = Buffer.from('a,b\r\nc\rd,e\r\n');
  const spans = assertChunkingIrrelevant(syntax(), bytes);
  assert.deepEqual(texts(bytes, spans), ['a,b\r\n', 'c\rd,e\r\n']);
});

test('an escaped line end in a quoted field counts as a line; outside quotes the escape is text', () => {
  // Lines 1 and 2 are one record (the line end escaped inside quotes), line 3 another.
  const bytes = Buffer.from('"a\\\nb"\nc\n');
  const spans = assertChunkingIrrelevant(syntax({ escape: BACKSLASH }), bytes);
  assert.deepEqual(texts(bytes, spans), ['"a\\\nb"\n', 'c\n']);
  assert.deepEqual(
    spans.map((r) => [r.line, r.lines]),
    [
      [1, 2],
      [3, 1],
    ],
  );
  const plain = Buffer.from('a\\\nb\n');
  assert.deepEqual(texts(plain, scan(syntax({ escape: BACKSLASH }), plain)), ['a\\\n', 'b\n']);
});

test("a quote left open at the end of the file: the last record's lines are the file's lines", () => {
  // Three physical lines; the last record starts on line 2 and takes lines 2 and 3.
  const bytes = Buffer.from('a,b\n1,"open\nstill open\n');
  const spans = scan(syntax(), bytes);
  assert.deepEqual(
    spans.map((r) => [r.line, r.lines]),
    [
      [1, 1],
      [2, 2],
    ],
  );
});

test('a quote inside an unquoted field is text: the line end after it ends the record', () => {
  const bytes = Buffer.from('1,5\'11" tall\n2,b\n3,"c\nd"\n');
  const spans = assertChunkingIrrelevant(syntax(), bytes);
  assert.deepEqual(texts(bytes, spans), ['1,5\'11" tall\n', '2,b\n', '3,"c\nd"\n']);
});

test('with skipInitialSpace, a quote after a delimiter and spaces opens a quoted field', () => {
  const bytes = Buffer.from('1,  "a\nb"\n2, c"\n');
  const skipping = assertChunkingIrrelevant(syntax({ skipInitialSpace: true }), bytes);
  assert.deepEqual(texts(bytes, skipping), ['1,  "a\nb"\n', '2, c"\n']);
  const not = assertChunkingIrrelevant(syntax(), bytes);
  assert.deepEqual(texts(bytes, not), ['1,  "a\n', 'b"\n', '2, c"\n']);
});

test('a delimiter of several bytes (þ) opens quotes after it, wherever the chunks cut it', () => {
  const bytes = Buffer.from('1þ"a\nb"þc\n2þx"y\n');
  const spans = assertChunkingIrrelevant(syntax({ delimiter: Buffer.from('þ') }), bytes);
  assert.deepEqual(texts(bytes, spans), ['1þ"a\nb"þc\n', '2þx"y\n']);
  assert.deepEqual(
    spans.map((r) => [r.line, r.lines]),
    [
      [1, 2],
      [3, 1],
    ],
  );
});

test('any bytes, any dialect: the lines of the records are the lines of the file', () => {
  const unit = fc.constantFrom('a', ',', 'þ', '"', '\\', '\n', '\r', ' ');
  fc.assert(
    fc.property(
      fc.string({ unit, maxLength: 60 }),
      fc.constantFrom(',', 'þ'),
      fc.boolean(),
      fc.constantFrom(BACKSLASH, -1),
      (text, delimiter, skipInitialSpace, escape) => {
        const bytes = Buffer.from(text);
        const s = syntax({ delimiter: Buffer.from(delimiter), skipInitialSpace, escape, maxBytes: 30 });
        const spans = assertChunkingIrrelevant(s, bytes);
        const lines = text.split('\n').length - (text.endsWith('\n') || text === '' ? 1 : 0);
        assert.equal(
          spans.reduce((sum, r) => sum + r.lines, 0),
          lines,
        );
        spans.forEach((r, i) => assert.equal(r.line, i ? spans[i - 1].line + spans[i - 1].lines : 1));
      },
    ),
    { numRuns: 1000 },
  );
});
