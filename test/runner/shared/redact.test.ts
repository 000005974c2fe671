/**
 * redact: URL passwords (whatever they hold), https query strings, postgres password
 * parameters and registered secrets (however percent-encoded) never survive, in any text, and
 * nothing else changes; twice is once. printable: no terminal control gets through, text stays
 * readable. Examples for each rule, and fast-check properties over random secrets and text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createRedactor, printable, redact, userInfoOf } from '../../../runner/shared/redact.ts';
import { redactUri } from '../../../runner/shared/uri.ts';

test('a URL password is masked, the user name kept, whatever the password holds', () => {
  const { redact } = createRedactor();
  const cases: [string, string][] = [
    ['https://user:secret@host/x', 'https://user:***@host/x'],
    // URL parsers take the last "@" before the host: all of "p@ss" is the password.
    ['get https://user:p@ss@host/x failed', 'get https://user:***@host/x failed'],
    ['https://user:p:w/x?y#z\\@host/', 'https://user:***@host/'],
    ['https://user:p%40ss%3A%2F@host/', 'https://user:***@host/'],
    // "/" in a password makes parsers refuse the URL, and the error quotes it whole.
    [
      'Failed to parse URL from https://user:pa/ss@host/x',
      'Failed to parse URL from https://user:***@host/x',
    ],
    // A raw space, which parsers accept (as %20), up to the word with the next "@".
    ['https://user:pa ss@host/x, from bob@example.com', 'https://user:***@host/x, from bob@example.com'],
    ['https://user:pa\tss@host/', 'https://user:***@host/'],
    ['postgres://census:pw@db:5432/census', 'postgres://census:***@db:5432/census'],
    ['POSTGRESQL://census:pw@db/census', 'POSTGRESQL://census:***@db/census'],
    ['mysql://a:b@c', 'mysql://a:***@c'],
    // The special schemes as new URL() reads them: any slashes or backslashes, or none.
    ['https:user:pw@host/', 'https:user:***@host/'],
    ['https:\\\\user:pw@host/', 'https:\\\\user:***@host/'],
    ['HTTPS://user:pw@host/', 'HTTPS://user:***@host/'],
    ['(https://user:pw@host) and "wss://u:p@h"', '(https://user:***@host) and "wss://u:***@h"'],
    ['https://user:@host/', 'https://user:***@host/'],
    ['a password holding a URL: https://u:x://y:z@host/', 'a password holding a URL: https://u:***@host/'],
  ];
  for (const [text, expected] of cases) assert.equal(redact(text), expected, text);
});

test('text that only looks like user-info is left alone', () => {
  const { redact } = createRedactor();
  for (const text of [
    'https://tok@host/ (a user name alone is kept)',
    'https://example.com/@scope/pkg',
    'https://host:8443/path, then bob@example.com',
    'https://[::1]:5000/path, then bob@example.com',
    'mail bob@example.com at 10:44:41 (user:pass@host without a scheme is not a URL)',
    'census-etl: source 2 (/data/Adult.data): line 7: age: "x" is not a whole number',
    'note:a@b',
  ])
    assert.equal(redact(text), text);
});

test('query strings of http(s) URLs go (pre-signed signatures); other URLs keep theirs', () => {
  const { redact } = createRedactor();
  const cases: [string, string][] = [
    [
      'GET https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=d failed',
      'GET https://b.s3.amazonaws.com/k?… failed',
    ],
    ['http://127.0.0.1:5000/k?sig=1#frag\nnext line', 'http://127.0.0.1:5000/k?…\nnext line'],
    ['https://u:p?w@host/k?sig=1', 'https://u:***@host/k?…'],
    ['proxyhttps://host/k?sig=1', 'proxyhttps://host/k?…'],
    ['s3://bucket/key?versionId=1', 's3://bucket/key?versionId=1'],
    ['https://host/k?', 'https://host/k?'],
  ];
  for (const [text, expected] of cases) assert.equal(redact(text), expected, text);
});

test("a postgres URL's password parameters are masked; its other parameters stay", () => {
  const { redact } = createRedactor();
  assert.equal(
    redact('postgres://census@db/census?sslmode=require&password=hunter2&application_name=etl'),
    'postgres://census@db/census?sslmode=require&password=***&application_name=etl',
  );
  assert.equal(
    redact('postgresql://db/c?PASSWORD=a%26b&sslpassword=k#x and more'),
    'postgresql://db/c?PASSWORD=***&sslpassword=***#x and more',
  );
});

test('a registered secret goes wherever it is, raw or percent-encoded in any case; longest first', () => {
  const { redact, registerSecret } = createRedactor();
  registerSecret('pa ss/wörd@1');
  registerSecret('pa');
  for (const form of [
    'pa ss/wörd@1',
    encodeURIComponent('pa ss/wörd@1'),
    encodeURIComponent('pa ss/wörd@1').toLowerCase(),
    'pa+ss%2fw%C3%B6rd@1',
  ])
    assert.equal(redact(`PGPASSWORD=${form}; next`), 'PGPASSWORD=***; next', form);
  assert.equal(redact('pass, pa, spa'), '***ss, ***, s***');
});

test('registering nothing, or a mask, registers nothing', () => {
  const { redact, registerSecret } = createRedactor();
  for (const value of ['', '*', '***', '…']) registerSecret(value);
  assert.equal(redact('a *** b … c'), 'a *** b … c');
});

test('the process redactor and redactUri are the same redaction', () => {
  const uri = 'https://user:p@ss@host/Adult.data?X-Amz-Signature=abc';
  assert.equal(redact(uri), 'https://user:***@host/Adult.data?…');
  assert.equal(redactUri(uri), redact(uri));
});

test('userInfoOf: what a fetch would take as user-info, its password masked', () => {
  const cases: [string, string | null][] = [
    ['https://user:secret@host/x', 'user:***'],
    ['https://token@host/x', 'token'],
    ['https:user:pw@host/x', 'user:***'],
    ['https://user:pa\nss@host/x', 'user:***'],
    [' https://user:pw@host/x', 'user:***'],
    ['https://user:pa/ss@host/x', 'user:***'],
    ['https://host/a@b', null],
    ['https://host/x', null],
    ['/data/Adult.data', null],
  ];
  for (const [uri, expected] of cases) assert.equal(userInfoOf(uri), expected, JSON.stringify(uri));
});

/** Letters only a password is made of here: any of them in the output is a password surviving. */
const MARK = /[JKQVWXZ]/;
const specials = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
const password = fc
  .array(fc.oneof(fc.constantFrom(...specials, 'é', '東', '😀'), fc.stringMatching(/^[JKQVWXZ]{1,3}$/)), {
    minLength: 1,
    maxLength: 12,
  })
  .map((parts) => parts.join(''))
  .filter((p) => MARK.test(p));
/** How a password is written into a URL: raw, or percent-encoded as encodeURIComponent or new URL() do. */
const encodings: Record<string, (p: string) => string> = {
  raw: (p) => p,
  encodeURIComponent,
  lowercase: (p) => encodeURIComponent(p).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
  whatwg: (p) => {
    const url = new URL('https://host/');
    url.password = p;
    return url.password;
  },
};
const word = fc.stringMatching(/^[a-z0-9@:/?=&"'()<>.,;#-]{0,8}$/);
const words = fc.array(word, { maxLength: 4 }).map((ws) => ws.join(' '));
const url = fc.record({
  scheme: fc.constantFrom(
    'https://',
    'http://',
    'https:',
    'postgres://',
    'postgresql://',
    'mysql://',
    'ftp://',
  ),
  user: fc.stringMatching(/^[a-z0-9._-]{1,8}$/),
  password,
  encoding: fc.constantFrom(...Object.keys(encodings)),
  host: fc.constantFrom('example.com', '127.0.0.1:8443', '[::1]:5000', 'db'),
  path: fc.stringMatching(/^(\/[a-z0-9@:._-]{0,6}){0,3}$/),
  query: fc.constantFrom('', '?sslmode=require', '?x-amz-signature=0f1e'),
});

test('property: a password in a URL, in any text, never survives, not even in part', () => {
  const { redact } = createRedactor();
  fc.assert(
    fc.property(
      words,
      fc.constantFrom(' ', ' (', ': "', '='),
      url,
      fc.constantFrom(' ', '") ', '\n'),
      words,
      (before, open, u, close, after) => {
        const userInfo = `${u.user}:${encodings[u.encoding](u.password)}`;
        const text = `${before}${open}${u.scheme}${userInfo}@${u.host}${u.path}${u.query}${close}${after}`;
        const out = redact(text);
        assert.doesNotMatch(out, MARK, `${JSON.stringify(text)} became ${JSON.stringify(out)}`);
        assert.ok(out.includes(`${u.user}:***@`), `the user name is kept: ${JSON.stringify(out)}`);
      },
    ),
    { numRuns: 2000 },
  );
});

test('property: a registered secret, in any text and any encoding, never survives', () => {
  const secret = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 16 })
    .filter((s) => !/^[*…]*$/.test(s));
  const text = fc.string({ unit: 'grapheme-ascii', maxLength: 30 });
  fc.assert(
    fc.property(
      secret,
      text,
      text,
      fc.constantFrom(...Object.keys(encodings)),
      (s, before, after, encoding) => {
        const { redact, registerSecret } = createRedactor();
        registerSecret(s);
        const out = redact(`${before}${encodings[encoding](s)}${after}`);
        for (const form of [s, encodeURIComponent(s)])
          assert.ok(!out.includes(form), `${JSON.stringify(s)} in ${JSON.stringify(out)}`);
      },
    ),
    { numRuns: 1000 },
  );
});

test('property: redacting twice changes nothing more', () => {
  const piece = fc.oneof(
    fc.string({ unit: 'grapheme-ascii', maxLength: 6 }),
    fc.constantFrom(
      'https://',
      'postgres://',
      'https:',
      ':',
      '@',
      '/',
      '?',
      ' ',
      '*',
      '…',
      'password=',
      '&',
      '%',
    ),
  );
  const text = fc.array(piece, { maxLength: 16 }).map((ps) => ps.join(''));
  fc.assert(
    fc.property(fc.array(text, { maxLength: 3 }), text, (secrets, t) => {
      const { redact, registerSecret } = createRedactor();
      for (const s of secrets) registerSecret(s);
      const once = redact(t);
      assert.equal(redact(once), once, JSON.stringify(t));
    }),
    { numRuns: 2000 },
  );
});

test('property: text with no URL and no secret is left as it is', () => {
  const { redact, registerSecret } = createRedactor();
  registerSecret('hunter2');
  const text = fc.string({ unit: 'binary', maxLength: 80 }).filter((t) => !t.includes(':'));
  fc.assert(fc.property(text, (t) => assert.equal(redact(t), t)));
});

test('pathological lines cost time linear in their length', () => {
  const { redact, registerSecret } = createRedactor();
  registerSecret('aaaaaaaaab');
  for (const line of [
    'a'.repeat(1_000_000),
    'a://b:c '.repeat(125_000),
    'https://u:p@'.repeat(80_000),
    'x:'.repeat(500_000),
    '@'.repeat(1_000_000),
  ]) {
    const started = performance.now();
    redact(line);
    const ms = performance.now() - started;
    // Linear is well under a second here; quadratic would be hours.
    assert.ok(ms < 5_000, `${line.slice(0, 12)}…: ${Math.round(ms)} ms`);
  }
});

test('printable: every terminal control shown as an escape', () => {
  const cases: [string, string, string][] = [
    ['a title', '\x1b]0;owned\x07', '\\x1b]0;owned\\x07'],
    [
      'a hyperlink (OSC 8)',
      '\x1b]8;;https://evil/\x1b\\click\x1b]8;;\x1b\\',
      '\\x1b]8;;https://evil/\\x1b\\click\\x1b]8;;\\x1b\\',
    ],
    ['erasing lines', 'ok\x1b[2K\x1b[1A\x1b[2J', 'ok\\x1b[2K\\x1b[1A\\x1b[2J'],
    ['C1 CSI and OSC', 'a\u009b2Kb\u009d0;t\u009c', 'a\\x9b2Kb\\x9d0;t\\x9c'],
    ['backspaces', 'FAILED\b\b\b\b\b\bpassed', 'FAILED\\x08\\x08\\x08\\x08\\x08\\x08passed'],
    ['a carriage return over a line', 'failed\rpassed', 'failed\\x0dpassed'],
    ['a bell, NUL, DEL, VT, FF', '\x07\x00\x7f\x0b\x0c', '\\x07\\x00\\x7f\\x0b\\x0c'],
    [
      'bidi overrides',
      'a\u202egnp.exe\u202c \u2066x\u2069 \u200f\u061c',
      'a\\u202egnp.exe\\u202c \\u2066x\\u2069 \\u200f\\u061c',
    ],
  ];
  for (const [what, text, expected] of cases) assert.equal(printable(text), expected, what);
});

test('printable: ordinary text, tabs, line feeds and CRLF stay as they are', () => {
  const text = '2026-11-24T10:44:41Z batch 1/30\tcafé — 東京 ✓ 😀 "quoted" \\x1b\r\nnext line\n';
  assert.equal(printable(text), text);
});

test('property: nothing printable returns would drive a terminal, and twice is once', () => {
  const controlHeavy = fc.string({
    unit: fc.constantFrom('\x1b', '\r', '\n', '\t', '\b', '\u009b', '\u202e', '[', 'a', 'é'),
    maxLength: 40,
  });
  const control = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), controlHeavy), (t) => {
      const out = printable(t);
      assert.doesNotMatch(out.replace(/\r\n/g, '\n'), control);
      assert.equal(printable(out), out);
    }),
    { numRuns: 2000 },
  );
});
