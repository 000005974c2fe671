"""The PostgreSQL loader a user would write in Python: csv + psycopg's COPY, 1,630 rows per
transaction, fields trimmed and "?" as NULL, into 15 text columns, nothing validated. Used by
npm run bench (scripts/bench/postgres.ts).

python3 psycopg_copy.py URL FILE...
"""
import csv
import sys

import psycopg

COLUMNS = 15
with psycopg.connect(sys.argv[1]) as db:
    db.execute('CREATE TABLE adult (%s)' % ', '.join('c%d text' % i for i in range(COLUMNS)))
    db.commit()

    def load(batch):
        with db.cursor().copy('COPY adult FROM STDIN') as copy:
            for row in batch:
                copy.write_row(row)
        db.commit()

    for path in sys.argv[2:]:
        with open(path, newline='') as f:
            batch = []
            for row in csv.reader(f):
                values = [None if v.strip() == '?' else v.strip() for v in row[:COLUMNS]]
                batch.append(values + [None] * (COLUMNS - len(values)))
                if len(batch) == 1630:
                    load(batch)
                    batch = []
            load(batch)
