#!/usr/bin/env python3
"""DuckDB contender of the engine benchmark (run by `server/src/bin/bench.rs`).

Copies the warehouse tables of the benchmark's SQLite database into DuckDB
(through CSV files, DuckDB's fast path, removed once loaded), then runs each query with
`threads=1` and with all threads and prints one JSON document:
{"load_seconds": s, "results": [{"name", "threads", "count", "median_ms", "runs_ms"}]}

usage: bench_duckdb.py SQLITE_DB WORK_DIR QUERIES_JSON RUNS
"""

import csv
import json
import os
import sqlite3
import statistics
import sys
import time

import duckdb


def duck_type(column, declared):
    if column in ("data_date", "event_date"):
        return "DATE"
    declared = (declared or "").upper()
    if "INT" in declared:
        return "BIGINT"
    if "REAL" in declared or "DOUBLE" in declared:
        return "DOUBLE"
    return "VARCHAR"


def copy_tables(sqlite_path, work_dir, duck):
    source = sqlite3.connect(sqlite_path)
    tables = [
        name
        for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if name in ("entities", "audience_scopes") or name.startswith("tag_") or name.startswith("behavior_")
    ]
    tables = [t for t in tables if t not in ("tag_catalog", "tag_partitions", "tag_imports", "tag_index_snapshots")]
    os.makedirs(work_dir, exist_ok=True)
    for table in tables:
        columns = [(row[1], row[2]) for row in source.execute(f'PRAGMA table_info("{table}")')]
        path = os.path.join(work_dir, f"{table}.csv")
        if not os.path.exists(path):
            with open(path + ".part", "w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow([c for c, _ in columns])
                cursor = source.execute(f'SELECT * FROM "{table}"')
                while True:
                    rows = cursor.fetchmany(100_000)
                    if not rows:
                        break
                    writer.writerows(rows)
            os.rename(path + ".part", path)
        types = ", ".join(f"'{c}': '{duck_type(c, t)}'" for c, t in columns)
        duck.execute(
            f'CREATE TABLE "{table}" AS SELECT * FROM read_csv(\'{path}\', header = true, '
            f"columns = {{{types}}}, nullstr = '')"
        )
        # The table now lives in DuckDB's memory; at 10M users the CSV copies
        # would take disk space the other contenders need.
        os.remove(path)
    source.close()


def main():
    sqlite_path, work_dir, queries_path, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(queries_path) as f:
        queries = json.load(f)
    duck = duckdb.connect()
    started = time.perf_counter()
    copy_tables(sqlite_path, work_dir, duck)
    load_seconds = time.perf_counter() - started
    results = []
    for threads in (1, os.cpu_count() or 1):
        duck.execute(f"SET threads = {threads}")
        for query in queries:
            count = duck.execute(query["sql"]).fetchone()[0]  # warm-up
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                duck.execute(query["sql"]).fetchone()
                times.append((time.perf_counter() - t) * 1000)
            results.append(
                {
                    "name": query["name"],
                    "threads": threads,
                    "count": count,
                    "median_ms": statistics.median(times),
                    "runs_ms": times,
                }
            )
    print(json.dumps({"load_seconds": load_seconds, "threads_all": os.cpu_count(), "results": results}))


if __name__ == "__main__":
    main()
