/**
 * Text as it leaves the program, made safe in one place. `redact` keeps secrets out of what is
 * written (logs, stderr, run.json, summary.json); `printable` keeps text read from elsewhere (S3)
 * from driving the terminal it is printed on. Pure, and importing nothing: the runner's output
 * and the scripts that read results back share it.
 */

const MASK = '***';

/**
 * Where a URL starts: its scheme and "//"; the special schemes of WHATWG URLs (what `new URL()`
 * and fetch follow) also with backslashes, or no slashes at all ("https:user:pw@host" parses).
 * Schemes are short: the bound keeps a long run of letters from costing time quadratic in it.
 */
const SCHEME = /([a-z][a-z0-9+.-]{0,31}):([\\/]*)/gi;
const SPECIAL_SCHEMES = new Set(['http', 'https', 'ws', 'wss', 'ftp']);
/** A host and an optional port: an authority with a colon that is not this holds a password. */
const HOST_PORT = /^(?:\[[^\]]*\]|[^:[\]]*)(?::\d*)?$/;
const WHITESPACE = /\s/g;

/** The index of the first whitespace at or after `from` (the end of the text if none). */
function wordEnd(text: string, from: number): number {
  WHITESPACE.lastIndex = from;
  return WHITESPACE.exec(text)?.index ?? text.length;
}

/**
 * The "@" that ends the user-info of a URL whose authority starts at `at`; -1 if it has none.
 * The last "@" of the URL's first word, as URL parsers take the last one, so that a password
 * holding "@" (or "/", which makes parsers refuse the URL and quote it whole) is all user-info;
 * when that word has no "@" but a colon that is not a port's, a password with a space ("%20"
 * to a parser) runs on to the word holding the next "@".
 */
function userInfoEnd(text: string, at: number, lastAt: number): number {
  const end = wordEnd(text, at);
  const word = text.slice(at, end);
  const last = word.lastIndexOf('@');
  if (last >= 0) return at + last;
  const authority = word.split(/[/?#\\]/, 1)[0];
  // lastAt (the text's last "@") spares a search to the end for every URL of a long text.
  if (lastAt < end || !authority.includes(':') || HOST_PORT.test(authority)) return -1;
  const next = text.indexOf('@', end);
  return text.lastIndexOf('@', wordEnd(text, next) - 1);
}

/** A URL found in text: its scheme, where its authority starts, its user-info's "@" (or -1), its end. */
type FoundUrl = { scheme: string; at: number; userEnd: number; end: number };

/** The URLs in a text, in order, none inside another (a password may hold "x://"). */
function* urlsIn(text: string): Generator<FoundUrl> {
  const lastAt = text.lastIndexOf('@');
  let done = 0;
  for (const m of text.matchAll(SCHEME)) {
    const scheme = m[1].toLowerCase();
    const special = SPECIAL_SCHEMES.has(scheme);
    if (m.index < done || !(special || m[2].startsWith('//'))) continue;
    const at = m.index + m[1].length + 1 + (special ? m[2].length : 2);
    const userEnd = userInfoEnd(text, at, lastAt);
    done = wordEnd(text, userEnd >= 0 ? userEnd : at);
    yield { scheme, at, userEnd, end: done };
  }
}

/** User-info with its password masked: "user:***" ("user" when there is no password). */
function maskedUserInfo(userInfo: string): string {
  const colon = userInfo.indexOf(':');
  return colon < 0 ? userInfo : `${userInfo.slice(0, colon + 1)}${MASK}`;
}

/**
 * What follows the user-info: an http(s) query string (signatures), a postgres password
 * parameter. The scheme is matched by its end: text may run into it, as in "proxyhttps://".
 */
function maskedRest(scheme: string, rest: string): string {
  if (/https?$/.test(scheme)) return rest.replace(/\?.+$/, '?…');
  if (/postgres(ql)?$/.test(scheme)) return rest.replace(/([?&][a-z_]*password=)[^&#]*/gi, `$1${MASK}`);
  return rest;
}

function scrubUrls(text: string): string {
  let out = '';
  let done = 0;
  for (const url of urlsIn(text)) {
    const hostAt = url.userEnd >= 0 ? url.userEnd + 1 : url.at;
    const userInfo = url.userEnd >= 0 ? `${maskedUserInfo(text.slice(url.at, url.userEnd))}@` : '';
    out += `${text.slice(done, url.at)}${userInfo}${maskedRest(url.scheme, text.slice(hostAt, url.end))}`;
    done = url.end;
  }
  return done === 0 ? text : out + text.slice(done);
}

/**
 * The user-info of a URI as a fetch would find it, its password masked ("user:***"); null when
 * there is none. For refusing credentials where they do not belong, without quoting them.
 */
export function userInfoOf(uri: string): string | null {
  let url: URL | null = null;
  try {
    url = new URL(uri);
  } catch {
    // Not a URL to a parser; what a person reads in it still counts.
  }
  if (url) return url.password ? maskedUserInfo(`${url.username}:${url.password}`) : url.username || null;
  const [first] = urlsIn(uri);
  return first && first.userEnd >= 0 ? maskedUserInfo(uri.slice(first.at, first.userEnd)) : null;
}

const UTF8 = new TextEncoder();

/** One character of a secret as it may be written: raw, or percent-encoded in either case (space: "+"). */
function encodings(char: string): string {
  const hex = (byte: number) =>
    byte
      .toString(16)
      .padStart(2, '0')
      .replace(/[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`);
  const percent = [...UTF8.encode(char)].map((byte) => `%${hex(byte)}`).join('');
  const raw = char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  return `(?:${raw}|${percent}${char === ' ' ? '|\\+' : ''})`;
}

/**
 * Passes until nothing changes, so that redacting twice changes nothing more. Each pass that
 * changes anything takes out a secret's characters, so two passes are the rule; the bound is a
 * safety belt.
 */
const MAX_PASSES = 8;

export type Redactor = {
  /** The text with every URL password, https query string and registered secret masked. */
  redact: (text: string) => string;
  /** A value never to be shown (a PGPASSWORD, say), however percent-encoded. */
  registerSecret: (value: string) => void;
};

/**
 * Cheap enough for every log line: with 3 registered secrets, about 500,000 lines/s of a typical
 * 190-character line, and 145,000 lines/s of one holding a signed URL (it takes a second pass),
 * measured on one core of an AMD EPYC (Node 24).
 */
export function createRedactor(): Redactor {
  const secrets = new Set<string>();
  /** One pattern per secret, longest first: a secret inside a longer one leaves none of it. */
  let patterns: RegExp[] = [];
  const scrubSecrets = (text: string) => patterns.reduce((t, p) => t.replace(p, MASK), text);
  return {
    redact(text) {
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const next = scrubUrls(scrubSecrets(text));
        if (next === text) break;
        text = next;
      }
      return text;
    },
    registerSecret(value) {
      // A value made of the masks' own characters cannot be told from a mask.
      if (/^[*…]*$/.test(value) || secrets.has(value)) return;
      secrets.add(value);
      const longestFirst = [...secrets].sort((a, b) => b.length - a.length);
      patterns = longestFirst.map((s) => new RegExp([...s].map(encodings).join(''), 'g'));
    },
  };
}

/** The process's redactor: the runner registers its secrets with it, and all it writes goes through it. */
export const { redact, registerSecret } = createRedactor();

/**
 * What a terminal acts on instead of showing: C0 controls but tab and line feed (ESC starts
 * every sequence that moves, erases, retitles or links), a carriage return that is not part of
 * a CRLF (it overwrites the line), DEL, C1 controls (CSI and OSC in one character), and the
 * bidirectional formatting characters that reorder what is shown.
 */
const TERMINAL_CONTROL =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

const visible = (char: string) => {
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** Text from elsewhere, safe to print: every terminal control shown as an escape (ESC as "\x1b"). */
export const printable = (text: string) => text.replace(TERMINAL_CONTROL, visible);
