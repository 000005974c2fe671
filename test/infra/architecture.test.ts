/** The instance architecture of every family: a table from AWS's documentation, and every type moto knows. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { architectureOf, isMacFamily } from '../../infra/architecture.ts';
import { startMoto } from '../../twin/moto.ts';
import { requireTool } from '../support/tools.ts';

const GRAVITON = [
  ...['a1.medium', 't4g.micro', 'm6g.large', 'm7gd.xlarge', 'm8g.large', 'c6gn.large', 'c7gn.large'],
  ...['c8gd.large', 'r6gd.large', 'r8g.large', 'x2gd.large', 'x8g.large', 'im4gn.large', 'is4gen.large'],
  ...['i4g.large', 'g5g.xlarge', 'hpc7g.4xlarge', 'i8ge.large'],
];
const X86 = [
  ...['t2.micro', 't3.micro', 't3a.small', 'm5zn.large', 'm7i-flex.large', 'c7i-flex.large', 'c6in.large'],
  ...['r7iz.large', 'g4dn.xlarge', 'g4ad.xlarge', 'g6e.xlarge', 'gr6.4xlarge', 'p4d.24xlarge', 'inf2.xlarge'],
  ...['p6-b200.48xlarge', 'trn1n.32xlarge', 'dl2q.24xlarge', 'u-6tb1.metal', 'u7i-12tb.224xlarge'],
  ...['x2iezn.2xlarge', 'z1d.large', 'hpc7a.12xlarge'],
];

test('Graviton types (a1 and a "g" after the generation) are arm64; the rest x86_64; Macs are known', () => {
  for (const type of GRAVITON) assert.equal(architectureOf(type), 'arm64', type);
  for (const type of X86) assert.equal(architectureOf(type), 'x86_64', type);
  const macs = ['mac1.metal', 'mac2.metal', 'mac2-m2pro.metal', 'mac-m4.metal'];
  for (const mac of macs) assert.ok(isMacFamily(mac), mac);
  assert.ok(!isMacFamily('m7g.large'));
});

test("every type in moto's copy of EC2's catalogue: the derived architecture is one EC2 lists", async (t) => {
  if (!requireTool(t, 'moto_server') || !requireTool(t, 'aws')) return;
  const moto = await startMoto();
  try {
    const env = { ...process.env, ...moto.env };
    const args = ['ec2', 'describe-instance-types', '--output', 'json'];
    const r = spawnSync('aws', args, { env, encoding: 'utf8', maxBuffer: 256 << 20 });
    assert.equal(r.status, 0, r.stderr);
    type Described = { InstanceType: string; ProcessorInfo: { SupportedArchitectures: string[] } };
    const types: Described[] = JSON.parse(r.stdout).InstanceTypes;
    assert.ok(types.length > 500, `${types.length} types`);
    const supports = (d: Described, arch: string) => d.ProcessorInfo.SupportedArchitectures.includes(arch);
    const wrong = types
      .filter((d) => !isMacFamily(d.InstanceType) && !supports(d, architectureOf(d.InstanceType)))
      .map((d) => `${d.InstanceType}: ${d.ProcessorInfo.SupportedArchitectures.join('/')}`);
    assert.deepEqual(wrong, []);
    const macs = types.filter((d) => isMacFamily(d.InstanceType));
    assert.ok(macs.length > 0);
    assert.ok(macs.every((d) => d.ProcessorInfo.SupportedArchitectures.every((a) => a.endsWith('_mac'))));
  } finally {
    await moto.stop();
  }
});
