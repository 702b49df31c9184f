"""Typed errors for dockernet.

Library code raises these and never prints or exits; the CLI turns each into
one line on stderr (see ``cli.main``). A subclass's docstring is its default
message, so ``raise DockerUnreachable()`` already says something useful.
"""

from __future__ import annotations


class DockernetError(Exception):
    """dockernet failed."""

    #: process exit status the CLI uses for this error
    exit_code = 1

    def __init__(self, message: str | None = None, *, hint: str | None = None):
        self.message = message or (self.__doc__ or "").strip()
        self.hint = hint
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message


class UsageError(DockernetError):
    """Invalid arguments."""

    exit_code = 2


class KeyFileError(DockernetError):
    """The TSIG key file cannot be used."""


class FileConflict(DockernetError):
    """A file that would be written already exists (use --force to overwrite)."""


class PidfileBusy(DockernetError):
    """Another watcher holds the pid file."""


class DockerUnreachable(DockernetError):
    """The Docker engine does not answer."""


# --- DNS -----------------------------------------------------------------
# Three families, told apart because the watcher treats them differently:
# DnsTransient (the server is unreachable, timing out or failing) is retried
# with backoff, and the names it concerns are looked up again before they are
# planned (the lost UPDATE may have been applied); DnsRejected (the server
# understood and said no) either concerns one name, which is then set aside
# alone, or the key or zone, which stops every update until a person acts;
# NameContended is a race the watcher settles by itself.


class DnsError(DockernetError):
    """The DNS server did not accept the request."""


class DnsTransient(DnsError):
    """The DNS server is unreachable or failed to answer."""


class DnsRejected(DnsError):
    """The DNS server rejected the update."""

    def __init__(self, message: str | None = None, *, hint: str | None = None, code: str = ""):
        super().__init__(message, hint=hint)
        #: the rcode or TSIG error name the server answered (REFUSED, BADSIG, ...)
        self.code = code


#: TSIG verdicts: the key itself is refused, so no update of any name can succeed
KEY_VERDICTS = frozenset({"BADKEY", "BADSIG", "BADTIME", "TSIG"})


class NameContended(DnsError):
    """The name kept changing on the server while dockernet updated it; it is tried again."""
