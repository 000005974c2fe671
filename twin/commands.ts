/**
 * The commands the twin's user types, read from the docs: every line of the ```sh blocks of
 * docs/aws.md, as a user would copy it. The twin types only what the page shows, so a command
 * renamed or dropped there stops the twin before it starts, naming it, rather than leaving the
 * twin to prove a journey no user is told to take. Pure, but for reading the page.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../infra/layout.ts';

/** The page whose commands the twin types, relative to the project folder. */
export const COMMANDS_PAGE = 'docs/aws.md';

/** A line without its comment: from a `#` that starts a word outside quotes, as the shell reads it. */
function withoutComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '\\') i++;
    else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/**
 * The commands of the ```sh fenced blocks of a Markdown text, in order: one per line, without
 * comments or blank lines, with lines continued by a final `\` joined. Other blocks (output,
 * JSON, blocks without a language) are not commands.
 */
export function commandsIn(markdown: string): string[] {
  const commands: string[] = [];
  let fence: string | null = null;
  let pending = '';
  for (const line of markdown.split(/\r?\n/)) {
    if (fence === null) {
      const open = /^ {0,3}(`{3,}|~{3,})\s*sh\s*$/.exec(line);
      if (open) fence = open[1];
      continue;
    }
    const close = line.trim();
    if (close.startsWith(fence[0].repeat(fence.length)) && /^(`+|~+)$/.test(close)) {
      if (pending.trim()) commands.push(pending.trim());
      fence = null;
      pending = '';
      continue;
    }
    const text = withoutComment(pending ? `${pending} ${line.trim()}` : line);
    if (text.trimEnd().endsWith('\\')) {
      pending = text.trimEnd().slice(0, -1).trimEnd();
      continue;
    }
    pending = '';
    const command = text.trim().replace(/\s+/g, ' ');
    if (command) commands.push(command);
  }
  return commands;
}

/**
 * `wanted` (a name for each command, the command as the page must show it, character for
 * character), once the page is found to show every one; else an error naming each it does not.
 */
export function documented<T extends Record<string, string>>(
  wanted: T,
  markdown: string,
  page = COMMANDS_PAGE,
): T {
  const shown = commandsIn(markdown);
  const missing = Object.values(wanted).filter((command) => !shown.includes(command));
  if (missing.length) {
    const list = missing.map((c) => `\`${c}\``).join(', ');
    throw new Error(`the twin types what ${page} shows, and its sh blocks do not show ${list}`);
  }
  return wanted;
}

/** The commands of the cloud journey, each as docs/aws.md shows it, answered without prompts. */
export const JOURNEY_COMMANDS = {
  deploy: 'npx cdktf deploy --auto-approve',
  logs: 'npm run logs',
  sync: 'npm run sync',
  rerun: 'npm run rerun -- --auto-approve',
  list: 'npm run sync -- --list',
  destroy: 'npx cdktf destroy --auto-approve',
} as const;

/** The journey's commands, read from docs/aws.md in `root` (the project, or the twin's clone). */
export const userCommands = (root = ROOT) =>
  documented(JOURNEY_COMMANDS, readFileSync(path.join(root, COMMANDS_PAGE), 'utf8'));
