"""The names this watcher may have written, kept across crashes (``--state-dir``).

Why: after a SIGKILL, an OOM kill or a reboot, a watcher that may not
transfer the zone has no other way to find the records of containers that
went away while it was down. With this list it asks the server about each
name (a targeted query) and removes what is still its own.

How it stays consistent without costing the hot path an fsync:

* a name is appended (``+ name id``) *before* the UPDATE that creates it is
  sent, and (``- name``) *after* the UPDATE that deletes it succeeded, so the
  journal always holds a superset of the names we own;
* appends are single ``write`` calls of one short line on an ``O_APPEND``
  file: a process killed mid-way leaves at most one partial last line, which
  ``load`` ignores;
* at start-up the file is rewritten from what the server confirmed,
  through a temp file, fsync and rename, so it never grows without bound.

A write that fails (a full disk, a read-only state directory) never stops
DNS updates, but it switches crash recovery off, so it is never silent
either: ``on_state`` hears each change between "writing" and "failing" (the
reconciler logs it once, counts it in the metrics and shows it in
``/healthz``). After a failed write the file lacks a line, so appending
more would make a journal that looks healthy and is not: it is *behind*,
and the next write (or ``mend``, which the watcher calls from its loop)
rewrites it whole from ``names``, atomically. Only that rewrite clears the
error. A state directory that cannot be written at start-up is the same
case: the journal starts behind, and the watcher runs on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import dns.exception
import dns.name

from dockernet.atomicfile import write_atomic
from dockernet.errors import StateDirUnusable, UsageError
from dockernet.publish.registry import valid_owner_id

#: seconds between ``mend`` attempts while the journal is behind
MEND_EVERY = 1.0


def journal_path(directory: str | os.PathLike, owner: str) -> Path:
    """The journal file of ``owner`` in a state directory (the start-up check looks at it too)."""
    return Path(directory) / f"records-{owner}.journal"


class Journal:
    def __init__(self, directory: str | os.PathLike, owner: str):
        if not valid_owner_id(owner):  # the owner id becomes part of a file name: no '/', no '..'
            raise UsageError(f"'{owner}' is not a valid owner id (letters, digits, '.', '_', '-'; up to 63)")
        self.directory = Path(directory)
        self.path = journal_path(self.directory, owner)
        self._fd: int | None = None
        #: opened for writing (watch, dns sync): names are kept, and written when the file can be
        self._writable = False
        #: the file lacks what ``names`` holds (a write failed): rewrite it whole at the next chance
        self.behind = False
        self._next_mend = 0.0
        #: the file may end in a partial line: the next append starts with a newline
        self._torn = False
        #: what the file should hold: name -> short container id
        self.names: dict[dns.name.Name, str] = {}
        #: why the last write failed, or "" while writes succeed
        self.error = ""
        #: told the new ``error`` each time it changes ("" when writes succeed again)
        self.on_state: Callable[[str], None] | None = None
        #: told of every failed write (for a counter)
        self.on_failure: Callable[[], None] | None = None

    def _report(self, exc: OSError | None) -> None:
        error = "" if exc is None else (exc.strerror or str(exc))
        if exc is not None and self.on_failure:
            self.on_failure()
        if error != self.error:
            self.error = error
            if self.on_state:
                self.on_state(error)

    def open(self, writable: bool = True) -> dict[dns.name.Name, str]:
        """Load the journal and open it for appending; returns name -> short container id.

        With ``writable=False`` (read-only commands) nothing is created: a
        missing directory or file reads as an empty journal, and every later
        ``add``, ``remove`` and ``rewrite`` does nothing. A journal that can
        be read but not written (a read-only state directory) does not stop
        a writer: it starts *behind*, with ``error`` saying why.
        """
        unwritable = None
        if writable:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                unwritable = exc
        try:
            self.names = self._load()
        except OSError as exc:  # names this journal holds cannot be read: overwriting them would lose them
            raise StateDirUnusable(
                f"cannot read the journal {self.path}: {exc.strerror}",
                hint="pass --state-dir with a readable and writable directory",
            ) from None
        if writable:
            self._writable = True
            if unwritable is None:
                try:
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                    self._torn = self._ends_mid_line()
                except OSError as exc:
                    unwritable = exc
            if unwritable is not None:
                self.behind = True
                self._report(unwritable)
        return dict(self.names)

    def _load(self) -> dict[dns.name.Name, str]:
        names: dict[dns.name.Name, str] = {}
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return names
        for raw in data.split(b"\n")[:-1]:  # the text after the last newline may be a torn write
            parts = raw.decode("utf-8", "replace").split()
            try:
                if len(parts) == 3 and parts[0] == "+":
                    names[dns.name.from_text(parts[1])] = parts[2]
                elif len(parts) == 2 and parts[0] == "-":
                    names.pop(dns.name.from_text(parts[1]), None)
            except dns.exception.DNSException:
                continue
        return names

    def _ends_mid_line(self) -> bool:
        """Whether the file ends in a torn line (a crash, or a write the disk cut short)."""
        if self._fd is None:
            return False
        size = os.fstat(self._fd).st_size
        if not size:
            return False
        with open(self.path, "rb") as handle:
            handle.seek(size - 1)
            return handle.read(1) != b"\n"

    def _append(self, line: str) -> None:
        if self.behind or self._fd is None:  # a line is missing: appending would hide it
            self._write_whole()
            return
        data = ("\n" + line if self._torn else line).encode()  # never glue a line onto a torn one
        try:
            written = os.write(self._fd, data)
        except OSError as exc:  # nothing was written: the file ends as it did, without this line
            self.behind = True
            self._report(exc)  # a full disk must not stop DNS updates, but it is said
            return
        if written < len(data):  # part of the line went in: the next one must start afresh
            self._torn = True
            self.behind = True
            self._report(OSError(28, os.strerror(28)))
            return
        self._torn = False
        self._report(None)

    def add(self, fqdn: dns.name.Name, short_id: str) -> None:
        if self._writable and self.names.get(fqdn) != short_id:
            self.names[fqdn] = short_id
            self._append(f"+ {fqdn} {short_id}\n")

    def remove(self, fqdn: dns.name.Name) -> None:
        if self._writable and self.names.pop(fqdn, None) is not None:
            self._append(f"- {fqdn}\n")

    def rewrite(self, names: dict[dns.name.Name, str]) -> None:
        """Replace the file's content with ``names`` atomically (temp file, fsync, rename)."""
        if not self._writable:
            return
        self.names = dict(names)  # what the file should hold, even if it cannot be written now
        self._write_whole()

    def mend(self) -> None:
        """Rewrite a journal that is behind, at most every ``MEND_EVERY`` seconds (the watcher's loop calls it).

        Without it a journal that missed lines while the disk was full would
        stay behind until the next name changed, however long the watcher
        idles, and a crash meanwhile would leave the missed names' records.
        """
        now = time.monotonic()
        if self.behind and self._writable and now >= self._next_mend:
            self._next_mend = now + MEND_EVERY
            self._write_whole()

    def _write_whole(self) -> None:
        """Write every name in ``names`` through a temp file and a rename; the error is kept until it works."""
        body = "".join(f"+ {name} {short_id}\n" for name, short_id in sorted(self.names.items()))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, body, default_mode=0o644)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            self.behind = True
            self._report(exc)
            return
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fd
        self._torn = False
        self.behind = False
        self._report(None)

    def close(self) -> None:
        self._writable = False  # nothing reopens it, not even a journal behind
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
