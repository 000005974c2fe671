/** Quoting for SQL built from the dataset definition (schema, CHECKs, views). */

/** A SQL identifier, quoted: the Description's names have hyphens. */
export const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A SQL string literal. */
export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
