"""Which of ``watch``'s options this process's privileges rule out, said at start-up rather than at the first container.

``dockernet watch`` runs as any user that can read the key and reach the
engine's socket (the systemd example runs it as the user ``dockernet``
with no capability at all). What such a user cannot do is found before
anything is built: an option that needs a capability the process lacks
(``option_needs``, judged by ``missing_capabilities``), and a file or
directory it may not read or write (``access_problems``). Both are pure:
the capability set comes in as names, the file system through the small
``Files`` seam. ``check_watch`` is the I/O edge: CapEff from
/proc/self/status, access(2) as this process's effective user.
"""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Protocol

from dockernet.errors import NotPermitted

if TYPE_CHECKING:
    from dockernet.engine.address import EngineAddress
    from dockernet.runtime import DnsSettings

#: capability numbers (linux/capability.h) of the capabilities an option may need
CAPABILITY_BITS = {"CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21}


@dataclass(frozen=True)
class OptionNeed:
    """An option, as a user writes it, and the capabilities it cannot work without."""

    option: str
    capabilities: tuple[str, ...]
    #: what they are for, in the message
    why: str


#: --send-from container: setns(2) into a container's network namespace takes CAP_SYS_ADMIN, and opening
#: /proc/<pid>/ns/net of another user's process (root's, in a container) takes CAP_SYS_PTRACE
SEND_FROM_CONTAINER = OptionNeed(
    "--send-from container",
    ("CAP_SYS_ADMIN", "CAP_SYS_PTRACE"),
    "to enter containers' network namespaces",
)


@dataclass(frozen=True)
class WatchPaths:
    """The files the watcher reads or writes, as the options name them (None: not used)."""

    key_file: str | None
    state_dir: str
    pidfile: str | None
    docker_socket: str | None
    #: this owner's journal in the state directory (None: not looked at)
    journal: str | None = None


@dataclass(frozen=True)
class User:
    """Who this process is, as messages name it: 'user dockernet (uid 998)', or 'user id 54321' without an account."""

    uid: int
    name: str | None = None

    @property
    def owner(self) -> str:
        """The user as ``install -o`` and ``chown`` take it."""
        return self.name or str(self.uid)

    def __str__(self) -> str:
        return f"user {self.name} (uid {self.uid})" if self.name else f"user id {self.uid}"


class Files(Protocol):
    """What ``access_problems`` asks of the file system."""

    def may(self, path: str, mode: int) -> bool | None:
        """Whether this process may access ``path`` with ``mode`` (os.R_OK, os.W_OK); None: no such path."""
        ...

    def group_of(self, path: str) -> str:
        """The name of ``path``'s group."""
        ...

    def read_only(self, path: str) -> bool:
        """Whether ``path`` is on a read-only file system (no privilege matter: the journal runs on behind)."""
        ...


def capabilities_in(mask: int) -> frozenset[str]:
    """The names (of those in ``CAPABILITY_BITS``) whose bits are set in a capability mask."""
    return frozenset(name for name, bit in CAPABILITY_BITS.items() if mask >> bit & 1)


def effective_mask(status: str) -> int:
    """The effective capability mask in the text of /proc/<pid>/status (0 when it has no CapEff line)."""
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split(":", 1)[1], 16)
    return 0


def option_needs(send_from: str) -> list[OptionNeed]:
    """The needs of the options given."""
    return [SEND_FROM_CONTAINER] if send_from == "container" else []


def missing_capabilities(needs: Iterable[OptionNeed], have: frozenset[str], user: User) -> list[str]:
    """One sentence per option whose capabilities ``have`` lacks, naming the option and what is missing."""
    problems = []
    for need in needs:
        missing = [name for name in need.capabilities if name not in have]
        if missing:
            problems.append(
                f"{need.option} needs {' and '.join(need.capabilities)} {need.why}, and {user} runs without "
                f"{' and '.join(missing)}: grant them (the systemd drop-in send-from-container.conf does) "
                "or leave the option out"
            )
    return problems


def access_problems(paths: WatchPaths, user: User, files: Files) -> list[str]:
    """One sentence per path the user may not use as the watcher must; a missing path is not this check's to judge."""
    problems = []
    if paths.key_file and files.may(paths.key_file, os.R_OK) is False:
        problems.append(
            f"key file {paths.key_file} is not readable by {user}: make it readable by this user alone "
            f"(install -o {user.owner} -m 0400)"
        )
    state = _existing(paths.state_dir, files)
    if state is not None and files.may(state, os.W_OK | os.X_OK) is False and not files.read_only(state):
        made = "" if state == paths.state_dir else f" (it would be made in {state})"
        problems.append(
            f"state directory {paths.state_dir} is not writable by {user}{made}: give it a directory it "
            f"owns (systemd: StateDirectory=; a bind mount: install -d -o {user.owner} -m 0700 DIR)"
        )
    elif paths.journal and files.may(paths.journal, os.R_OK | os.W_OK) is False and not files.read_only(paths.journal):
        # e.g. rewritten by root through a `dns sync` run by hand: the file is root's now
        problems.append(
            f"journal {paths.journal} is not readable and writable by {user}: give it back "
            f"(chown {user.owner} {paths.journal}); run dns commands for this owner id as that user"
        )
    if paths.pidfile:
        directory = str(PurePath(paths.pidfile).parent)
        if files.may(directory, os.W_OK | os.X_OK) is False:
            problems.append(
                f"pid file {paths.pidfile} cannot be written by {user} (its directory {directory} is not "
                "writable): give a directory it owns (systemd: RuntimeDirectory=)"
            )
    if paths.docker_socket and files.may(paths.docker_socket, os.W_OK) is False:
        group = files.group_of(paths.docker_socket)
        problems.append(
            f"Docker's socket {paths.docker_socket} may not be opened by {user}: add the user to the "
            f"socket's group '{group}' (systemd: SupplementaryGroups={group}; docker run: --group-add with "
            "the socket's group id)"
        )
    return problems


def _existing(path: str, files: Files) -> str | None:
    """``path``, or the nearest parent that exists (the journal makes the missing ones)."""
    for candidate in (PurePath(path), *PurePath(path).parents):
        if files.may(str(candidate), os.F_OK) is not None:
            return str(candidate)
    return None


class HostFiles:
    """``Files`` for this process: access(2) with its effective ids."""

    def may(self, path: str, mode: int) -> bool | None:
        if not os.path.lexists(path):
            return None
        return os.access(path, mode, effective_ids=True)

    def group_of(self, path: str) -> str:
        gid = os.stat(path).st_gid
        try:
            return grp.getgrgid(gid).gr_name
        except KeyError:
            return str(gid)

    def read_only(self, path: str) -> bool:
        try:
            return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
        except OSError:
            return False


def user_of(uid: int) -> User:
    """The user with this id, named when it has an account (dockernet needs none)."""
    try:
        return User(uid, pwd.getpwuid(uid).pw_name)
    except KeyError:
        return User(uid)


def check_watch(settings: DnsSettings, engine: EngineAddress, *, send_from: str, pidfile: str | None) -> None:
    """Refuse, in one line, what this process's privileges rule out of a ``watch`` with these options."""
    # with the check: --help never loads them
    from dockernet.engine.address import unix_socket_path
    from dockernet.sync.journal import journal_path

    user = user_of(os.geteuid())
    with open("/proc/self/status") as handle:
        have = capabilities_in(effective_mask(handle.read()))
    paths = WatchPaths(
        key_file=settings.auth.secret_file,
        state_dir=settings.state_dir,
        pidfile=pidfile,
        docker_socket=unix_socket_path(engine.where),
        journal=str(journal_path(settings.state_dir, settings.owner_id)),
    )
    problems = missing_capabilities(option_needs(send_from), have, user) + access_problems(paths, user, HostFiles())
    if problems:
        raise NotPermitted("; ".join(problems))
