"""Replace a file's content so that a reader, or a crash, only ever sees the old or the new file.

The one writer for every file dockernet writes (Docker's configuration, the
ifupdown stanza, ``dns init``'s files, the journal's rewrite, the pid file):
a temp file in the same directory (so the rename stays on one filesystem),
written and fsynced, given the mode, renamed over the target, then the
directory fsynced so the rename itself survives a power cut. Errors are the
``OSError`` of the step that failed; callers turn it into their own message.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: str | os.PathLike, content: str, mode: int | None = None, default_mode: int = 0o644) -> None:
    """Write ``content`` to ``path`` atomically.

    ``mode`` forces the file's mode (a key: 0o600); without it an existing
    file keeps its mode and a new one gets ``default_mode``.
    """
    path = Path(path)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = default_mode
    temp = path.with_name(f".{path.name}.dockernet.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)  # the umask may have narrowed it
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # some filesystems do not open directories; the rename is done either way
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
