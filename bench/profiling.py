"""Sampling profiles of a running watcher, phase by phase, with py-spy (PyPI): where its time goes.

``Profiler.phase(name, pid)`` records while the block runs (``py-spy record
--format raw``: one line per distinct stack, with its sample count) and
``top`` sums the samples per function, by itself and with what it called.
Used by ``watch_bench.py --profile DIR`` (``.venv/bin/pip install py-spy`` first: only this option needs
it); asserts nothing.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path


class Profiler:
    def __init__(self, directory: Path, rate: int = 500):
        self.directory = directory
        self.rate = rate
        directory.mkdir(parents=True, exist_ok=True)
        self.py_spy = shutil.which("py-spy") or str(Path(__file__).resolve().parent.parent / ".venv/bin/py-spy")
        if not Path(self.py_spy).exists():
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")

    @contextmanager
    def phase(self, name: str, pid: int):
        """Sample ``pid`` (and its threads; idle ones left out) while the block runs, into ``<name>.txt``."""
        out = self.directory / f"{name}.txt"
        proc = subprocess.Popen(
            [self.py_spy, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw", "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.05)  # py-spy attaches
        try:
            yield out
        finally:
            proc.send_signal(signal.SIGINT)  # py-spy writes the profile when interrupted
            proc.wait(timeout=60)


def top(path: Path, count: int = 15) -> tuple[int, list[tuple[str, int, int]]]:
    """(samples, [(function, own samples, samples with its callees)]), most own samples first."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        n = int(number)
        samples += n
        frames = [_short(frame) for frame in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    return samples, [(name, own[name], total[name]) for name, _ in own.most_common(count)]


def _short(frame: str) -> str:
    """``function (path/to/module.py:line)`` as ``function (module.py)``."""
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{name} ({module})" if module else name


def report(path: Path, count: int = 15) -> str:
    samples, rows = top(path, count)
    lines = [f"{path.stem}: {samples} samples"]
    lines += [f"  {own / samples:6.1%} own {total / samples:6.1%} with callees  {name}" for name, own, total in rows]
    return "\n".join(lines)
