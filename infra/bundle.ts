/**
 * The runner as the instance runs it: one ESM file (esbuild, better-sqlite3's JavaScript
 * bundled in), the parser threads' own small file and, next to them, better-sqlite3's
 * prebuilt N-API addon for the instance's architecture, taken from the addons its npm package
 * carries. Nothing is installed or compiled at boot: the bundle loads the addon from its own
 * folder.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { ARCHITECTURES, hostArchitecture, type Architecture } from './architecture.ts';
import { RELEASE_FILES, ROOT, type BuiltFile } from './layout.ts';

const NATIVE = 'better-sqlite3';

export type Bundle = {
  dir: string;
  architecture: Architecture;
  files: Record<BuiltFile, string>;
  sha256: string;
};

/** Builds into `dir` (default out/release/<architecture>); the same sources give the same bytes and hash. */
export function buildBundle(dir?: string, architecture = hostArchitecture()): Bundle {
  dir ??= path.join(ROOT, 'out', 'release', architecture);
  mkdirSync(dir, { recursive: true });
  const files: Record<BuiltFile, string> = {
    bundle: path.join(dir, RELEASE_FILES.bundle),
    parser: path.join(dir, RELEASE_FILES.parser),
    addon: path.join(dir, RELEASE_FILES.addon),
  };
  const build = (entry: string, outfile: string) =>
    buildSync({
      entryPoints: [path.join(ROOT, 'runner', entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      // better-sqlite3's entry point for one platform (a public export of its package) loads
      // exactly that prebuilt addon; the copy loader ships the addon next to the bundle, under
      // the release's name for it, and points the require there. Runtime code stays untouched.
      alias: { [NATIVE]: `${NATIVE}/${ARCHITECTURES[architecture].prebuild}` },
      loader: { '.node': 'copy' },
      assetNames: path.parse(RELEASE_FILES.addon).name,
      legalComments: 'none',
      logLevel: 'error',
      // CommonJS dependencies call require() for Node's built-ins and the addon;
      // ESM has no require of its own.
      banner: {
        js:
          "import { createRequire as __createRequire } from 'node:module'; " +
          'const require = __createRequire(import.meta.url);',
      },
      // Parser threads load their own file, not the whole CLI (its AWS SDK and charts cost a thread ~40 MB).
      define: { CENSUS_PARSER_FILE: JSON.stringify(`./${RELEASE_FILES.parser}`) },
    });
  build('cli.ts', files.bundle);
  build('extract/parser-thread.ts', files.parser);
  const hash = createHash('sha256');
  for (const f of Object.values(files)) hash.update(readFileSync(f));
  return { dir, architecture, files, sha256: hash.digest('hex') };
}
