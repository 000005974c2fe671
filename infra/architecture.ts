/**
 * The instance's CPU architecture, derived from its type, and everything that follows from it:
 * the AL2023 image, the prebuilt better-sqlite3 addon shipped in the release, what `uname -m`
 * says on the instance and the ELF machine of the addon. Pure.
 */

export const ARCHITECTURES = {
  x86_64: { uname: 'x86_64', prebuild: 'linux-x64', elfMachine: 0x3e },
  arm64: { uname: 'aarch64', prebuild: 'linux-arm64', elfMachine: 0xb7 },
} as const;

/** Named as EC2 names them (DescribeInstanceTypes' SupportedArchitectures, the AL2023 SSM path). */
export type Architecture = keyof typeof ARCHITECTURES;

/** Mac families (mac1, mac2-m2pro, mac-m4...) run macOS only: no Amazon Linux 2023 image. */
export const isMacFamily = (instanceType: string) => /^mac/.test(instanceType);

/**
 * Graviton (arm64): a1, or a "g" right after the generation number (t4g, m7gd, c7gn, x2gd,
 * im4gn, is4gen, g5g, hpc7g). Everything else is x86_64 (g4dn, c7i-flex, u7i-12tb, p6-b200).
 * A test runs this over every type moto knows; deploy cross-checks it with EC2 at plan time.
 */
export function architectureOf(instanceType: string): Architecture {
  const family = instanceType.split('.')[0];
  return family === 'a1' || /^[a-z]+\d+g/.test(family) ? 'arm64' : 'x86_64';
}

/** The node process' own architecture in EC2's words (to build a release for this machine). */
export const hostArchitecture = (): Architecture => (process.arch === 'arm64' ? 'arm64' : 'x86_64');
