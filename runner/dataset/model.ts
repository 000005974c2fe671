/**
 * A dataset as census-etl loads it: what a Frictionless Data Package descriptor says, resolved
 * and checked (descriptor.ts builds it). Every stage reads the dataset from here; nothing else
 * names a table, a column or a file. Pure types and small helpers.
 */

/** The Table Schema field types census-etl loads (others are refused when the descriptor is read). */
export type FieldType =
  'string' | 'integer' | 'number' | 'boolean' | 'date' | 'datetime' | 'time' | 'year' | 'any';

/** A value as the cleaner gives it (dates and times as ISO-8601 text). */
export type Value = string | number | boolean | null;

export type Field = {
  name: string;
  type: FieldType;
  /** 'default', a string format (email, uri, uuid, binary), 'any', or a strptime pattern. */
  format: string;
  /** The texts that mean "no value" for this field (its own, else the schema's). */
  missingValues: readonly string[];
  required: boolean;
  unique: boolean;
  /** The allowed values (enum, or categories), as logical values of the field's type. */
  enum: readonly Value[] | null;
  minimum: number | string | null;
  maximum: number | string | null;
  exclusiveMinimum: number | string | null;
  exclusiveMaximum: number | string | null;
  minLength: number | null;
  maxLength: number | null;
  /** An XML Schema regular expression the whole value must match (checked by the cleaner). */
  pattern: string | null;
  trueValues: readonly string[];
  falseValues: readonly string[];
  decimalChar: string;
  groupChar: string | null;
  bareNumber: boolean;
  /** censusEtl:dropSuffix: a text removed from the end of a value before it is checked. */
  dropSuffix: string | null;
};

/** How a file is written (Table Dialect), the properties census-etl acts on. */
export type Dialect = {
  header: boolean;
  delimiter: string;
  /** null: no quoting. */
  quoteChar: string | null;
  doubleQuote: boolean;
  escapeChar: string | null;
  skipInitialSpace: boolean;
  commentChar: string | null;
  /** A text that means "no value" in any field (added to every field's missing values). */
  nullSequence: string | null;
};

/** One file of a table: where it is, and the checksum it must have (if the descriptor gives one). */
export type DataFile = {
  /** Local path, s3:// or https:// URI. */
  uri: string;
  /** The file name, as the lineage column records it. */
  name: string;
  /** `algorithm:hex` (sha256, md5, sha1, sha512), or null. */
  hash: string | null;
};

/** One resource: one table of the database. */
export type Table = {
  name: string;
  title: string | null;
  files: DataFile[];
  /** The files' encoding as the WHATWG Encoding Standard names it: utf-8, or a single-byte one. */
  encoding: string;
  dialect: Dialect;
  fields: Field[];
  /** Field names; enforced as UNIQUE and NOT NULL. */
  primaryKey: readonly string[];
  uniqueKeys: readonly (readonly string[])[];
  /** The columns after the fields that say where a row came from: file name and line. */
  lineage: { source: string; line: string };
};

/** How a view's column is shown in the report. */
export type ViewColumn = { label?: string; format?: 'count' | 'percent' | 'number' | 'text' };

/** A bar chart of a view: one bar per measure and category, the count in the category's label. */
export type ViewChart = {
  title: string;
  category: string;
  /** Axis title of the categories. */
  categoryLabel: string;
  measures: { column: string; label: string }[];
  /** The column counted in each category's label ("n = …"), if any. */
  count: string | null;
  format: 'percent' | 'count' | 'number';
  axisTitle: string;
  legendTitle: string | null;
  subtitle: string | null;
};

/** A view the dataset defines (censusEtl:views): portable SQL, run on SQLite and PostgreSQL alike. */
export type View = {
  name: string;
  title: string | null;
  description: string | null;
  sql: string;
  /** Whether the report shows it (helper views that others read are not). */
  report: boolean;
  columns: Record<string, ViewColumn>;
  chart: ViewChart | null;
};

export type Dataset = {
  name: string;
  title: string | null;
  tables: Table[];
  views: View[];
  /**
   * The descriptor as read (JSON), schemas and dialects given as paths read into it: kept in the
   * database so that readers need nothing else, and deployed as one document.
   */
  descriptor: { resources: object[] } & Record<string, unknown>;
};

/** Column names census-etl keeps for itself in every table (SQLite's rowid, PostgreSQL's row key). */
export const ROWID = 'rowid';
