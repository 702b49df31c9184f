#!/usr/bin/env python3
"""The container image's size and start-up, built from this checkout's Dockerfile in a private engine.

Builds the image as tests/integration/test_image.py does (the base from ``scripts/image-base``'s tar,
the dependencies from the wheelhouse ``scripts/install-deps --test`` downloaded), then reports its size
and ``docker run --rm dockernet --version`` wall time (median of ``--runs``), beside the floor measured in
the same run: the same ``docker run`` of the busybox image's ``true`` (what any container start costs).

    sudo .venv/bin/python bench/image_bench.py [--runs 10] [--json FILE]

Not part of the test suite; it asserts nothing, it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tests.harness as harness  # noqa: E402

BASE_TAR = Path("/var/cache/dockernet/debian-bookworm-slim.tar")
WHEELHOUSE = Path("/var/cache/dockernet/wheelhouse")


def timed_runs(env: dict, argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["docker", "run", "--rm", *argv], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix=f"{harness.PREFIX}{os.getpid()}-", dir="/tmp"))
    dockerd = harness.PrivateDockerd(base, base.name)
    try:
        dockerd.start()
        dockerd.import_busybox()
        dockerd.client.api.import_image_from_file(str(BASE_TAR), repository="debian", tag="bookworm-slim")
        context = base / "context"
        subprocess.run(["git", "clone", "-q", str(REPO), str(context)], check=True)
        shutil.copytree(WHEELHOUSE, context / "wheelhouse")
        env = {"PATH": os.environ["PATH"], "DOCKER_HOST": dockerd.url, "DOCKER_BUILDKIT": "0"}
        start = time.perf_counter()
        subprocess.run(["docker", "build", "-q", "-t", "dockernet", "."], cwd=context, env=env, check=True)
        build_s = time.perf_counter() - start
        size = dockerd.client.images.get("dockernet").attrs["Size"]
        version = timed_runs(env, ["dockernet", "--version"], args.runs)
        floor = timed_runs(env, ["--entrypoint", "true", harness.IMAGE], args.runs)
    finally:
        dockerd.remove_all()
        dockerd.stop()
        harness.remove_run_dir(base, base.name)
    result = {
        "image_bytes": size,
        "image_mb": round(size / 1e6, 1),
        "build_s": round(build_s, 1),
        "version_median_s": round(statistics.median(version), 3),
        "floor_median_s": round(statistics.median(floor), 3),
        "version_over_floor_s": round(statistics.median(version) - statistics.median(floor), 3),
        "runs": args.runs,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
