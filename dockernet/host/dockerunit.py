"""What the docker systemd unit and its drop-ins say: whether dockerd reads DOCKER_OPTS, which flags it gets.

dockerd refuses to start when one setting is given both as a flag and in
daemon.json; ``find_conflicts`` finds such pairs before anything is written.
dockernet reads unit files and never edits them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from dockernet.host.dockeropts import OWNED_FLAGS, flags_in


@dataclass(frozen=True)
class UnitFacts:
    """What the docker systemd unit and its drop-ins say (no unit: nothing read)."""

    found: bool
    reads_docker_opts: bool
    exec_flags: dict[str, list[str]]  # owned settings given as flags on ExecStart lines
    where: str = ""


def read_unit(unit_dirs: list[Path]) -> UnitFacts:
    """Read docker.service and docker.service.d/*.conf from the unit directories, highest priority first."""
    texts: list[tuple[str, str]] = []
    for directory in unit_dirs:
        unit = directory / "docker.service"
        if unit.is_file() and not texts:
            texts.append((str(unit), unit.read_text(errors="replace")))
        for dropin in sorted((directory / "docker.service.d").glob("*.conf")):
            texts.append((str(dropin), dropin.read_text(errors="replace")))
    if not texts:
        return UnitFacts(False, False, {})
    exec_lines: list[tuple[str, str]] = []
    for path, text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("ExecStart="):
                value = line.split("=", 1)[1]
                if not value:
                    exec_lines.clear()  # an empty ExecStart= resets the list (systemd.service(5))
                else:
                    exec_lines.append((path, value))
    reads = any("$DOCKER_OPTS" in value or "${DOCKER_OPTS}" in value for _, value in exec_lines)
    flags: dict[str, list[str]] = {}
    where = ""
    for path, value in exec_lines:
        try:
            argv = shlex.split(value.lstrip("-@+!:"))
        except ValueError:
            continue
        for key, values in flags_in(argv).items():
            flags.setdefault(key, []).extend(values)
            where = path
    return UnitFacts(True, reads, flags, where)


def find_conflicts(
    daemon_settings: dict, opts_flags: dict[str, list[str]], unit: UnitFacts, opts_read: bool
) -> list[str]:
    """Settings given both as a flag and in daemon.json: dockerd refuses to start with any of them."""
    found = []
    for key in sorted(set(OWNED_FLAGS.values())):
        if key not in daemon_settings:
            continue
        if opts_read and key in opts_flags:
            found.append(f"'{key}' is in daemon.json and in DOCKER_OPTS")
        if key in unit.exec_flags:
            found.append(f"'{key}' is in daemon.json and on the ExecStart line of {unit.where}")
    return found
