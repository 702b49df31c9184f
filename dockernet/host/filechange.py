"""A planned change of one file (its text before and after) and the two edges that touch the disk.

``read_text`` reads a file (absent: None); ``write_change`` writes the
``after`` side atomically, or deletes the file when ``after`` is None. A
plan holds ``FileChange`` values, prints their diffs on ``--dry-run``, and
is carried out by writing each in turn.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from dockernet.atomicfile import write_atomic
from dockernet.errors import ConfigError


@dataclass(frozen=True)
class FileChange:
    """A file's content before and after; ``after`` None means delete it."""

    path: Path
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            (self.after or "").splitlines(keepends=True),
            fromfile=str(self.path) if self.before is not None else "/dev/null",
            tofile=str(self.path) if self.after is not None else "/dev/null",
        )
        return "".join(lines)


def read_text(path: Path) -> str | None:
    """A file's text, or None when there is no such file; any other failure is a ``ConfigError``."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def write_change(change: FileChange) -> None:
    """Write (or delete) one file through ``atomicfile.write_atomic``; the mode is kept."""
    path = change.path
    try:
        if change.after is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, change.after)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
