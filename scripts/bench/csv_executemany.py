"""The loader a user would write in ten lines: csv + executemany, 1,630 rows per transaction,
fields trimmed and "?" as NULL, nothing validated. Used by npm run bench (scripts/bench.ts).

python3 csv_executemany.py DB FILE...
(CSV_HEADER=1: each file's first row is a header; CSV_TABLE: the table, adult unless set)
"""
import csv
import os
import sqlite3
import sys

COLUMNS = sys.stdin.readline().split()  # "name:INTEGER name:TEXT ..." from the bench
db = sqlite3.connect(sys.argv[1])
TABLE = os.environ.get('CSV_TABLE', 'adult')
db.execute('CREATE TABLE %s (%s)' % (TABLE, ', '.join('"%s" %s' % tuple(c.split(':')) for c in COLUMNS)))
insert = 'INSERT INTO %s VALUES (%s)' % (TABLE, ', '.join('?' * len(COLUMNS)))


def clean(value):
    value = value.strip()
    return None if value == '?' else value


for path in sys.argv[2:]:
    with open(path, newline='') as f:
        batch = []
        rows = csv.reader(f)
        if os.environ.get('CSV_HEADER') == '1':
            next(rows, None)
        for row in rows:
            batch.append([clean(v) for v in row] + [None] * (len(COLUMNS) - len(row)))
            if len(batch) == 1630:
                with db:
                    db.executemany(insert, batch)
                batch = []
        with db:
            db.executemany(insert, batch)
db.close()
