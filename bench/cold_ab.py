#!/usr/bin/env python3
"""Cold start of two source trees in alternation, against one engine and one named.

One run of ``watch_bench.py`` gives one cold-start sample per code, and on a
shared 2-core machine one sample moves by a few hundred milliseconds. This
starts 500 containers once, then launches the watcher of tree A and of tree
B in turn (ABBA order, ``--rounds`` times; the zone is purged between runs)
and reports launch → first UPDATE at the server and launch → all answer for
each, with medians. Each tree's watcher runs as ``python -m dockernet`` from
that tree, so a tree is any checkout (``git worktree add /tmp/a COMMIT``).

    sudo .venv/bin/python bench/cold_ab.py TREE_A TREE_B [--rounds 4] [--cold 500] [--json FILE]

Not part of the test suite; it asserts nothing, it measures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tests.harness as harness  # noqa: E402
from bench import watch_bench as bench  # noqa: E402


def cold_start(dockerd, named, resolver, log, tree: Path, workdir: Path, owner: str, expected: dict) -> dict:
    """One watcher of ``tree`` from launch until every name answers; the zone purged afterwards."""
    harness.REPO = tree  # WatcherProcess runs `python -m dockernet` with this working directory: that tree's code
    watcher = harness.WatcherProcess(
        dockerd, named, workdir, owner, extra=("--settle-time", "1", "--reverse-zone", "auto")
    )
    launched, launched_at = time.perf_counter(), time.time()
    watcher.start(wait=False)
    _, missed = bench.wait_all(resolver, expected, 30)
    all_answer = time.perf_counter() - launched
    first = min(log.times("add", since=launched_at - 0.001).get(label, float("inf")) for label in expected)
    watcher.terminate()
    purged = watcher.dns("purge", "--reverse-zone", "auto")
    if purged.returncode != 0:
        raise RuntimeError(f"dns purge failed: {purged.stderr}")
    return {"first_update_s": first - launched_at, "all_answer_s": all_answer, "missed": missed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs=2, type=Path, metavar="TREE")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--cold", type=int, default=500)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    run = bench.run_dir()
    if run is None:
        return 2
    base, netns = run
    samples: dict[str, list[dict]] = {str(tree): [] for tree in args.trees}
    with bench.engine_and_server(base, netns) as (dockerd, named):
        resolver = bench.Resolver(named)
        log = bench.ServerLog(named.dir / "named.log")
        made, _ = bench.start_many(dockerd, "cold", args.cold)
        expected = {f"cold{i}": {dockerd.address_of(c)} for i, c in enumerate(made)}
        workdir = base / "watchers" / "ab"
        workdir.mkdir(parents=True)
        runs = 0
        for round_ in range(args.rounds):
            for tree in args.trees if round_ % 2 == 0 else reversed(args.trees):
                runs += 1
                sample = cold_start(dockerd, named, resolver, log, tree, workdir, f"ab-{runs}", expected)
                samples[str(tree)].append(sample)
                print(
                    f"{tree}: first UPDATE {sample['first_update_s'] * 1000:.0f} ms, "
                    f"all answer {sample['all_answer_s'] * 1000:.0f} ms, missed {sample['missed']}",
                    flush=True,
                )
    for tree, runs_of_tree in samples.items():
        first = statistics.median(s["first_update_s"] for s in runs_of_tree) * 1000
        every = statistics.median(s["all_answer_s"] for s in runs_of_tree) * 1000
        print(f"{tree}: median launch -> first UPDATE {first:.0f} ms, launch -> all answer {every:.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps({"cold": args.cold, "samples": samples}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
