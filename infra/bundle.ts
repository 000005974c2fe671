/**
 * The runner as the instance runs it: one ESM file (esbuild), the parser threads' own small
 * file beside it, and a package.json naming the one dependency that cannot be bundled,
 * better-sqlite3's native addon, which `npm install` fetches for the instance's own platform.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { RELEASE_FILES, ROOT } from './layout.ts';

const NATIVE = 'better-sqlite3';

export type Bundle = {
  dir: string;
  files: { bundle: string; parser: string; manifest: string };
  sha256: string;
};

/** Builds into `dir` (default out/bundle); the same sources give the same bytes and hash. */
export function buildBundle(dir = path.join(ROOT, 'out', 'bundle')): Bundle {
  mkdirSync(dir, { recursive: true });
  const bundle = path.join(dir, RELEASE_FILES.bundle);
  const parser = path.join(dir, RELEASE_FILES.parser);
  const manifest = path.join(dir, RELEASE_FILES.manifest);
  const build = (entry: string, outfile: string) => buildSync({
    entryPoints: [path.join(ROOT, 'runner', entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: [NATIVE],
    legalComments: 'none',
    logLevel: 'error',
    // CommonJS dependencies call require() for Node's built-ins; ESM has no require of its own.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    // Parser threads load their own file, not the whole CLI (its AWS SDK and charts cost a thread ~40 MB).
    define: { CENSUS_PARSER_FILE: JSON.stringify(`./${RELEASE_FILES.parser}`) },
  });
  build('cli.ts', bundle);
  build('lines.ts', parser);
  const version = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', NATIVE, 'package.json'), 'utf8')).version;
  const pkg = { name: 'census-etl-runner', private: true, type: 'module', dependencies: { [NATIVE]: version } };
  writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
  const hash = createHash('sha256');
  for (const f of [bundle, parser, manifest]) hash.update(readFileSync(f));
  return { dir, files: { bundle, parser, manifest }, sha256: hash.digest('hex') };
}
