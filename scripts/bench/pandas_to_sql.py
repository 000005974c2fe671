"""What a pandas user would write: read_csv, then to_sql 1,630 rows at a time, "?" as NULL.
Used by npm run bench (scripts/bench.ts).

python3 pandas_to_sql.py DB FILE...
"""
import sqlite3
import sys

import pandas as pd

COLUMNS = [c.split(':')[0] for c in sys.stdin.readline().split()]  # "name:TYPE ..." from the bench
db = sqlite3.connect(sys.argv[1])
for path in sys.argv[2:]:
    frame = pd.read_csv(path, header=None, names=COLUMNS, skipinitialspace=True, na_values=['?'])
    frame.to_sql('adult', db, if_exists='append', index=False, chunksize=1630)
db.close()
