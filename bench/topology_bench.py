#!/usr/bin/env python3
"""How long ``dockernet topology`` takes to draw a host with many containers.

Same real components as the tests (private dockerd in its own namespace,
named from ``dns init``); N containers with a hostname each, published by
``watch --once`` with PTR records, one more name held by hand. Reports each
drawing (tree, JSON, DOT; median of five launches, launch to exit) against
two floors from the same run: the interpreter starting dockernet
(``--version``) and one zone transfer by dnspython.

    sudo .venv/bin/python bench/topology_bench.py [--containers 500] [--profile FILE] [--json FILE]

``--profile`` also runs the tree once under pyinstrument (pip install
pyinstrument) and writes its text report. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import dns.query  # noqa: E402
import dns.zone  # noqa: E402
from watch_bench import engine_and_server, save, start_many, start_run  # noqa: E402

from tests.harness import PrivateNamed, WatcherProcess, clean_env  # noqa: E402


def launch(args: list[str], runs: int = 5) -> float:
    """Median seconds from launch to exit of ``python -m dockernet ARGS``."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "dockernet", *args], capture_output=True, text=True, env=clean_env(), cwd=REPO
        )
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise RuntimeError(f"dockernet {' '.join(args)} failed: {result.stderr}")
    return statistics.median(times)


def axfr_seconds(named: PrivateNamed, runs: int = 3) -> tuple[float, int]:
    key = named.keyring()
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        zone = dns.zone.from_xfr(
            dns.query.xfr("127.0.0.1", named.zone, port=named.port, keyring=key.keyring, keyname=key.name)
        )
        times.append(time.perf_counter() - started)
        size = sum(1 for _ in zone.iterate_rdatas())
    return statistics.median(times), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--json", metavar="FILE")
    started = start_run(parser)
    if started is None:
        return 2
    args, base, netns = started
    results: dict = {"containers": args.containers}
    with engine_and_server(base, netns) as (dockerd, named):
        start_many(dockerd, "topo", args.containers)
        workdir = base / "watchers" / "bench"
        workdir.mkdir(parents=True)
        publisher = WatcherProcess(dockerd, named, workdir, "bench", extra=("--reverse-zone", "auto"))
        if publisher.once().returncode != 0:
            raise RuntimeError("watch --once did not publish everything")
        dns_args = [
            *named.client_args(),
            "--owner-id",
            "bench",
            "--state-dir",
            str(workdir / "state"),
            "--reverse-zone",
            "auto",
        ]
        common = ["--docker-host", dockerd.url, "topology", "--host-netns", netns, *dns_args]
        results["floor_launch_s"] = launch(["--version"])
        results["floor_axfr_s"], results["zone_records"] = axfr_seconds(named)
        results["tree_s"] = launch(common)
        results["json_s"] = launch([*common, "--json"])
        results["dot_s"] = launch([*common, "--dot"])
        if args.profile:
            subprocess.run(
                [sys.executable, "-m", "pyinstrument", "-o", args.profile, "-m", "dockernet", *common],
                check=True,
                capture_output=True,
                env=clean_env(),
                cwd=REPO,
            )

    print(f"{args.containers} containers, zone of {results['zone_records']} records")
    for name in ("floor_launch_s", "floor_axfr_s", "tree_s", "json_s", "dot_s"):
        print(f"{name:16} {results[name]:7.3f} s")
    print(f"{'tree - floors':16} {results['tree_s'] - results['floor_launch_s'] - results['floor_axfr_s']:7.3f} s")
    save(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
