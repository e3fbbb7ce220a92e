"""Searches from one thread and from eight threads at once against one index, in one process (issue 14: no global
search lock; throughput with 8 threads at least one thread's). Runs on the database and index a ``make bench`` left
in ``--workdir``; the rounds alternate 1, 8, 1, 8, … threads on the same queries, so the ratio survives noise.

    .venv/bin/python bench/thread_bench.py [--workdir /tmp/search-bench-10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import search_bench as sb


def run(app, paths: list[str], threads: int) -> tuple[float, int]:
    """Queries per second of ``paths`` shared among ``threads`` threads, and the number of non-200 answers."""
    chunks = [paths[i::threads] for i in range(threads)]
    failures = []
    barrier = threading.Barrier(threads + 1)

    def worker(chunk: list[str]) -> None:
        client = app.test_client()
        barrier.wait()
        for path in chunk:
            response = client.get(path)
            if response.status_code != 200:
                failures.append(response.status_code)

    pool = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    return len(paths) / (time.perf_counter() - started), len(failures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default="/tmp/search-bench-10000")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=40, help="queries per kind")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    bench_args = types.SimpleNamespace(docs=args.docs, seed=42, queries=args.queries, workdir=args.workdir,
                                       database_url="")
    app = sb.make_app(bench_args)
    logging.getLogger("app.requests").setLevel(logging.WARNING)
    queries = sb.build_queries(bench_args, app)
    paths = [sb.search_path(q) for kind in sb.KINDS for q in queries[kind]]
    run(app, paths[:50], 1)  # warm: searcher, caches of the vocabulary
    rates: dict[int, list[float]] = {1: [], 8: []}
    failures = 0
    for _round in range(args.rounds):
        for threads in (1, 8):
            rate, failed = run(app, paths, threads)
            rates[threads].append(rate)
            failures += failed
    one, eight = statistics.median(rates[1]), statistics.median(rates[8])
    print(f"{len(paths)} queries × {args.rounds} rounds, alternating; load {sb.load_average()}")
    print(f"1 thread: {one:.1f} queries/s (rounds {', '.join(f'{r:.1f}' for r in rates[1])})")
    print(f"8 threads: {eight:.1f} queries/s (rounds {', '.join(f'{r:.1f}' for r in rates[8])})")
    print(f"8 threads ÷ 1 thread: {eight / one:.2f}×; non-200 answers: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
