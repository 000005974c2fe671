import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { COLUMNS } from '../../../runner/dataset/adult.ts';
import { DATA_DIR } from '../../support/cli.ts';

/** The attribute list of `Description`: "name : v1, v2, ..." or "name : continuous.". */
function describedAttributes(text: string): Map<string, string[] | 'continuous'> {
  const section = text.split('3. Attribute type:')[1].split('3. Attribute Description:')[0];
  const attrs = new Map<string, string[] | 'continuous'>();
  for (const m of section.matchAll(/^([a-z-]+)\s*:\s*([\s\S]*?)(?=^[a-z-]+\s*:|$(?![\s\S]))/gm)) {
    const body = m[2].replace(/\s+/g, ' ').trim().replace(/\.$/, '');
    attrs.set(m[1], body === 'continuous' ? 'continuous' : body.split(',').map((v) => v.trim()));
  }
  return attrs;
}

test('the dataset definition matches Description: names, order, types and domains', () => {
  const described = describedAttributes(readFileSync(path.join(DATA_DIR, 'Description'), 'utf8'));
  assert.deepEqual(
    COLUMNS.map((c) => c.name),
    [...described.keys()],
  );
  for (const c of COLUMNS) {
    const d = described.get(c.name);
    if (c.kind === 'integer') assert.equal(d, 'continuous', c.name);
    else assert.deepEqual([...c.domain], d, c.name);
  }
});
