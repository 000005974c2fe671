/**
 * The CA bundle the loader checks the database's certificate against (sslmode=verify-full),
 * shipped in the release. By default AWS's RDS bundle, vendored in infra/rds/ (a public
 * certificate bundle, not data) and pinned by its SHA-256; docs/aws-postgres.md says where this
 * copy came from and what was checked. CENSUS_DB_CA_BUNDLE may name another (AWS's regional or
 * GovCloud bundles; the twin's own CA).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './layout.ts';

export const RDS_CA_BUNDLE = {
  /** Where AWS publishes it. */
  source: 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem',
  file: path.join(ROOT, 'infra', 'rds', 'global-bundle.pem'),
  /** 102 self-signed roots: the RSA2048, RSA4096 and ECC384 "G1" CAs of 34 RDS regions, valid to 2061+. */
  sha256: '05c6b4a9bf4daa95c888711481e19cc8e2e11aed4de8db759f51f4a6fce64917',
} as const;

export type CaBundle = { file: string; sha256: string; certificates: number };

const PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** A PEM file of CA certificates, checked; the error says what is wrong with it. */
export function readCaBundle(file: string): CaBundle {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (e) {
    throw new Error(`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const blocks = text.toString('utf8').match(PEM) ?? [];
  if (blocks.length === 0) throw new Error('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  blocks.forEach((block, i) => {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (e) {
      throw new Error(`certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
    if (!certificate.ca)
      throw new Error(`certificate ${i + 1} (${certificate.subject}) is not a CA certificate`);
  });
  return { file, sha256: createHash('sha256').update(text).digest('hex'), certificates: blocks.length };
}

/** The vendored RDS bundle, refused unless it is byte for byte the pinned one. */
export function rdsCaBundle(file: string = RDS_CA_BUNDLE.file): CaBundle {
  const bundle = readCaBundle(file);
  if (bundle.sha256 !== RDS_CA_BUNDLE.sha256) {
    throw new Error(
      `has SHA-256 ${bundle.sha256}, not the pinned ${RDS_CA_BUNDLE.sha256} of ${RDS_CA_BUNDLE.source}: ` +
        'restore it (git checkout -- infra/rds/global-bundle.pem)',
    );
  }
  return bundle;
}
