"""Benchmark: how long the simulator takes to build a large account before it can serve.

    .venv/bin/python benchmarks/dataset_benchmark.py [--runs 10000] [--repeat 3]

Prints the best and median wall time of building the dataset, and its size (runs, actions,
artifacts). A demo or a sync benchmark waits this long before the first request is answered.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from artifacts_app.asc.simulator import Dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    timings = []
    for _ in range(options.repeat):
        started = time.perf_counter()
        dataset = Dataset(seed=2, runs=options.runs, products=options.products)
        timings.append(time.perf_counter() - started)
    print(
        f"dataset of {len(dataset.runs):,} runs, {len(dataset.actions):,} actions, "
        f"{len(dataset.artifacts):,} artifacts: best {min(timings):.2f} s, "
        f"median {statistics.median(timings):.2f} s over {options.repeat} builds"
    )


if __name__ == "__main__":
    main()
