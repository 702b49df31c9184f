"""Record what real engines send, as golden files for the engine adapter's unit tests (#25).

Run by hand, as root, from the repository root (it starts the tests' private engines, each in a
network namespace of its own, and removes them after):

    PYTHONPATH=$PWD .venv/bin/python tests/record_engine_payloads.py [--engine podman|docker|both]

It writes into tests/unit/golden/engine_events/ (``--out`` elsewhere), per engine (``podman-4.3``,
``docker-20.10``: the prefix names the versions Debian 12 ships; another version gets its own name):

* ``<engine>.json``: every raw ``/events`` dict (no filters, as docker-py's ``api.events(decode=True)``
  yields it) while one container goes through create, start, connect to a second network, disconnect,
  rename, restart, stop, kill and ``rm -f``, as ``[{"scenario": ..., "event": {...}}]``. An event
  belongs to the last scenario whose API call had begun when the engine stamped it (``timeNano``); the starts
  between stop, kill and rm -f are scenarios of their own (``start-after-stop``, ...).
* ``<engine>-inspect-two-networks.json``: the inspect of that container, running, on the engine's
  default network plus the second one.
* ``<engine>-version.json``, ``<engine>-info.json``: ``/version`` and ``/info``. The run dir's path
  (/tmp/dnt-<pid>) is replaced by /tmp/dnt-RUN in every file, so a re-recording diffs cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import (
    IMAGE,
    PREFIX,
    PrivateDockerd,
    clean_stale_runs,
    delete_netns,
    remove_run_dir,
    wait_for,
)
from tests.podman import PrivatePodman

OUT = Path(__file__).resolve().parent / "unit" / "golden" / "engine_events"
NAME = "golden-one"
NETWORK = "golden-second"


class EventTap:
    """Every event of the engine's live stream, in a thread, from before the first scenario."""

    def __init__(self, client):
        self.stream = client.api.events(decode=True)
        self.events: list[dict] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.stream:
                self.events.append(event)
        except Exception:
            pass  # closed by close()

    def close(self) -> None:
        self.stream.close()


def run_scenarios(client, run_kwargs: dict) -> tuple[list[dict], dict]:
    """The scenarios on one container; returns the labelled events and the two-network inspect."""
    network = client.networks.create(NETWORK)
    tap = EventTap(client)
    windows: list[tuple[str, int]] = []
    container = None

    def scenario(name: str, action) -> None:
        windows.append((name, time.time_ns()))
        action()

    def create() -> None:
        nonlocal container
        container = client.containers.create(IMAGE, ["sleep", "3600"], name=NAME, hostname=NAME, **run_kwargs)

    scenario("create", create)
    assert container is not None
    scenario("start", container.start)
    scenario("connect", lambda: network.connect(container))
    container.reload()
    inspect = container.attrs
    scenario("disconnect", lambda: network.disconnect(container))
    scenario("rename", lambda: container.rename(NAME + "-renamed"))
    scenario("restart", lambda: container.restart(timeout=1))  # sleep as pid 1 ignores SIGTERM
    scenario("stop", lambda: container.stop(timeout=1))
    scenario("start-after-stop", container.start)
    scenario("kill", container.kill)
    scenario("start-after-kill", container.start)
    scenario("rm -f", lambda: container.remove(force=True))
    # the stream lags the calls: wait for the removal's own event
    wait_for(lambda: any(_action(e) in ("remove", "destroy") for e in tap.events if _stamp(e) >= windows[-1][1]), 20)
    tap.close()
    network.remove()
    labelled = []
    for event in tap.events:
        # the last scenario begun when the engine stamped it (an engine may stamp a cleanup after the call returned)
        begun = [name for name, begin in windows if begin <= _stamp(event)]
        if begun:
            labelled.append({"scenario": begun[-1], "event": event})
    return labelled, inspect


def _stamp(event: dict) -> int:
    return int(event.get("timeNano") or int(event.get("time", 0)) * 1_000_000_000)


def _action(event: dict) -> str:
    return event.get("Action") or event.get("status") or ""


def record(engine, prefix: str, out: Path, run_kwargs: dict, run_base: Path) -> None:
    client = engine.client
    engine.import_busybox()
    events, inspect = run_scenarios(client, run_kwargs)
    info = client.info()
    again = client.info()
    print(f"{prefix}: {len(events)} events; /info ID {info.get('ID')!r}, then {again.get('ID')!r}")
    payloads = {
        f"{prefix}.json": events,
        f"{prefix}-inspect-two-networks.json": inspect,
        f"{prefix}-version.json": client.version(),
        f"{prefix}-info.json": info,
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, payload in payloads.items():
        text = json.dumps(payload, indent=1, sort_keys=False) + "\n"
        (out / name).write_text(text.replace(str(run_base), "/tmp/dnt-RUN"))
        print(f"  wrote {out / name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=("podman", "docker", "both"), default="both")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("run as root: it starts private engines in network namespaces of their own")
    clean_stale_runs()
    name = f"{PREFIX}{os.getpid()}"
    base = Path("/tmp") / name
    base.mkdir(parents=True, exist_ok=True)
    try:
        if args.engine in ("podman", "both"):
            podman = PrivatePodman(base / "podman", f"{name}-podman")
            podman.start()
            try:
                record(podman, "podman-4.3", args.out, {"cgroup_parent": podman.cgroup_parent}, base)
            finally:
                podman.stop()
                delete_netns(podman.netns)
        if args.engine in ("docker", "both"):
            dockerd = PrivateDockerd(base / "docker", name)
            dockerd.start()
            try:
                record(dockerd, "docker-20.10", args.out, {}, base)
            finally:
                dockerd.remove_all()
                dockerd.stop()
    finally:
        remove_run_dir(base, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
