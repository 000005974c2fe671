/**
 * The Adult dataset, as data: every stage reads its columns, types, domains and quirks
 * from here instead of repeating them. Domains are copied from the dataset's `Description`
 * (a test checks them against that file).
 */

export type IntegerColumn = { name: string; kind: 'integer'; min: number; max: number };
export type NominalColumn = { name: string; kind: 'nominal'; domain: readonly string[] };
export type Column = IntegerColumn | NominalColumn;

const integer = (name: string, min: number, max: number): IntegerColumn => ({
  name,
  kind: 'integer',
  min,
  max,
});
const nominal = (name: string, domain: readonly string[]): NominalColumn => ({
  name,
  kind: 'nominal',
  domain,
});

/** The 15 attributes, in file order, named exactly as in `Description`. */
export const COLUMNS: readonly Column[] = [
  // Bounds reject what cannot be a person's record (negative ages, 200-hour weeks) while
  // keeping every value the real files hold; SQLite's INTEGER is 64-bit but JS numbers
  // are exact only up to 2^53, so that is the ceiling of "continuous".
  integer('age', 0, 130),
  nominal('workclass', [
    'Private',
    'Self-emp-not-inc',
    'Self-emp-inc',
    'Federal-gov',
    'Local-gov',
    'State-gov',
    'Without-pay',
    'Never-worked',
  ]),
  integer('fnlwgt', 0, Number.MAX_SAFE_INTEGER),
  nominal('education', [
    'Bachelors',
    'Some-college',
    '11th',
    'HS-grad',
    'Prof-school',
    'Assoc-acdm',
    'Assoc-voc',
    '9th',
    '7th-8th',
    '12th',
    'Masters',
    '1st-4th',
    '10th',
    'Doctorate',
    '5th-6th',
    'Preschool',
  ]),
  integer('education-num', 1, 16),
  nominal('marital-status', [
    'Married-civ-spouse',
    'Divorced',
    'Never-married',
    'Separated',
    'Widowed',
    'Married-spouse-absent',
    'Married-AF-spouse',
  ]),
  nominal('occupation', [
    'Tech-support',
    'Craft-repair',
    'Other-service',
    'Sales',
    'Exec-managerial',
    'Prof-specialty',
    'Handlers-cleaners',
    'Machine-op-inspct',
    'Adm-clerical',
    'Farming-fishing',
    'Transport-moving',
    'Priv-house-serv',
    'Protective-serv',
    'Armed-Forces',
  ]),
  nominal('relationship', ['Wife', 'Own-child', 'Husband', 'Not-in-family', 'Other-relative', 'Unmarried']),
  nominal('race', ['White', 'Asian-Pac-Islander', 'Amer-Indian-Eskimo', 'Other', 'Black']),
  nominal('sex', ['Female', 'Male']),
  integer('capital-gain', 0, Number.MAX_SAFE_INTEGER),
  integer('capital-loss', 0, Number.MAX_SAFE_INTEGER),
  integer('hours-per-week', 0, 168),
  nominal('native-country', [
    'United-States',
    'Cambodia',
    'England',
    'Puerto-Rico',
    'Canada',
    'Germany',
    'Outlying-US(Guam-USVI-etc)',
    'India',
    'Japan',
    'Greece',
    'South',
    'China',
    'Cuba',
    'Iran',
    'Honduras',
    'Philippines',
    'Italy',
    'Poland',
    'Jamaica',
    'Vietnam',
    'Mexico',
    'Portugal',
    'Ireland',
    'France',
    'Dominican-Republic',
    'Laos',
    'Ecuador',
    'Taiwan',
    'Haiti',
    'Columbia',
    'Hungary',
    'Guatemala',
    'Nicaragua',
    'Scotland',
    'Thailand',
    'Yugoslavia',
    'El-Salvador',
    'Trinadad&Tobago',
    'Peru',
    'Hong',
    'Holand-Netherlands',
  ]),
  nominal('class', ['>50K', '<=50K']),
];

/** Lineage columns that follow the 15 attributes in table `adult`. */
export const LINEAGE = ['source', 'line'] as const;

/** How the files are written: the quirks the parser and the cleaner must know. */
export const FORMAT = {
  /** Fields are separated by ", "; the space is trimmed with the field. */
  delimiter: ',',
  /** `Adult.test` starts with `|1x3 Cross validator`: a comment, not a record. */
  comment: '|',
  /** A missing value. */
  missing: '?',
  /** `Adult.test` writes its class as `>50K.` / `<=50K.`. */
  trailingDot: new Set(['class']),
} as const;

export type PublishedFile = { name: string; url: string; sha256: string };

const ORIGIN = 'https://raw.githubusercontent.com/clicksign/python-dev-test/master/data';

/** The files as published, loaded in this order, with their pinned SHA-256. */
export const FILES: readonly PublishedFile[] = [
  {
    name: 'Adult.data',
    url: `${ORIGIN}/Adult.data`,
    sha256: '6068bb5739b22e7b49878a0cd04141092caca8ef1aceef9eebfc8dea99f2426f',
  },
  {
    name: 'Adult.test',
    url: `${ORIGIN}/Adult.test`,
    sha256: '158918d9895a6628f56283bdc44258187cb41dc4c53e06d20f5aa3896c35b36f',
  },
];
