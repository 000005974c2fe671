/** The quick tier (npm run test:quick) runs every test file that needs no tool outside Node and npm. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../infra/layout.ts';
import { NEEDS_TOOLS, quickFiles, testFiles } from '../../scripts/lib/tiers.ts';

/** Calls that start a tool outside Node and npm, or look for one (test/support/, twin/moto.ts). */
const HELPERS = [
  ['skipUnless', 'skipUnlessPresent', 'requireTool', 'hasCommand'], // test/support/tools.ts
  ['startMoto', 'smallFilesystem', 'startSourceServer'], // moto_server, mount, openssl
  ['skipUnlessPostgres', 'startPostgres', 'makeCertificateAuthority'], // PostgreSQL, openssl
  ['launchChromium', 'svgToPng'], // Chromium
].flat();
const TOOL_HELPERS = new RegExp(`\\b(${HELPERS.join('|')})\\(`);

test('the quick tier: no file of it calls a helper that starts or looks for an outside tool', () => {
  const quick = quickFiles();
  assert.ok(quick.includes('test/project/format.test.ts') && quick.length > 20, `${quick.length} files`);
  for (const file of quick) {
    const found = TOOL_HELPERS.exec(readFileSync(path.join(ROOT, file), 'utf8'));
    assert.equal(found, null, `${file} calls ${found?.[1]}: list it in NEEDS_TOOLS (scripts/lib/tiers.ts)`);
  }
});

test('every file listed as needing a tool exists and calls such a helper', () => {
  const all = testFiles();
  for (const file of Object.keys(NEEDS_TOOLS)) {
    assert.ok(existsSync(path.join(ROOT, file)) && all.includes(file), `${file} is not a test file`);
    assert.match(readFileSync(path.join(ROOT, file), 'utf8'), TOOL_HELPERS, `${file} needs no tool`);
  }
});
