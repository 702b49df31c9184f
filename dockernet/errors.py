"""Typed errors for dockernet: every failure a user can meet, in one place.

Library code raises these and never prints or exits; the CLI turns each into
one line on stderr (see ``cli.main``). A subclass's docstring is its default
message, so ``raise DockerUnreachable()`` already says something useful, and
``hint`` says what to do next. Callers branch on the class (and, for DNS
verdicts, on ``code``: the rcode or TSIG error), never on the text.
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


class HostOnly(UsageError):
    """This works on the host, not inside dockernet's container image."""


class NotDockersBridge(UsageError):
    """The engine at --docker-host has no Docker bridge on this host to rebuild."""


class NotPermitted(UsageError):
    """This user's privileges rule out what the options given ask for."""


class KeyFileError(DockernetError):
    """The TSIG key file cannot be used."""


class FileConflict(DockernetError):
    """A file that would be written already exists (use --force to overwrite)."""


class PidfileBusy(DockernetError):
    """Another watcher holds the pid file."""


class DockerUnreachable(DockernetError):
    """The Docker engine does not answer."""


class OwnerCollision(DockernetError):
    """Another Docker engine runs under this owner id; nothing is removed."""


# --- DNS -----------------------------------------------------------------
# Three families, told apart because the watcher treats them differently:
# DnsTransient (the server is unreachable, timing out or failing) is retried
# with backoff, and the names it concerns are looked up again before they are
# planned (the lost UPDATE may have been applied); DnsRejected (the server
# understood and said no) either concerns one name, which is then set aside
# alone, or the key or zone, which stops every update until a person acts;
# PrerequisiteFailed (a name's RFC 2136 prerequisite kept failing) is a
# race the watcher settles by itself.


class ConfigError(DockernetError):
    """A configuration file cannot be used as it is."""


class WriteFailed(DockernetError):
    """A file could not be written; nothing was left half-written."""


class StateDirUnusable(DockernetError):
    """The state directory (--state-dir) cannot be used."""


class CannotListen(DockernetError):
    """The metrics address cannot be listened on."""


class CannotOpenLog(DockernetError):
    """The log file cannot be opened."""


# --- netlink and containers ----------------------------------------------


class NetlinkFailed(DockernetError):
    """A netlink request failed."""


class NamespaceMissing(DockernetError):
    """The network namespace does not exist."""


class LinkVanished(DockernetError):
    """A link disappeared while dockernet was changing it."""


class DockerControlFailed(DockernetError):
    """Docker could not be stopped or started."""


class RolledBack(DockernetError):
    """A change failed part-way and what was already changed was put back."""


class DockerRunning(DockernetError):
    """Docker is running; the bridge cannot be rebuilt under it."""


class BridgeBusy(DockernetError):
    """The bridge has ports attached, or the name is held by another kind of link."""


class ContainerNotFound(DockernetError):
    """No such container."""


class ContainerAmbiguous(DockernetError):
    """Docker cannot tell which container is meant."""


class ContainerNotRunning(DockernetError):
    """The container is not running."""


class NotAttachedByDockernet(DockernetError):
    """The interface was not attached by dockernet; dockernet leaves it alone."""


class DnsError(DockernetError):
    """The DNS server did not accept the request."""


class DnsTransient(DnsError):
    """The DNS server is unreachable or failed to answer."""


# SERVFAIL may be the whole server's (a full disk, a zone being reloaded) or one update's
# (an RRset above the server's limit): the reconciler probes the zone to tell which.
class DnsServerFailure(DnsTransient):
    """The DNS server failed to process the update (SERVFAIL)."""

    code = "SERVFAIL"


class DnsRejected(DnsError):
    """The DNS server rejected the update."""

    #: the rcode or TSIG error name the server answered, when the class does not say it
    default_code = ""

    def __init__(self, message: str | None = None, *, hint: str | None = None, code: str = ""):
        super().__init__(message, hint=hint)
        #: the rcode or TSIG error name the server answered (REFUSED, BADSIG, ...): metrics and branching use it
        self.code = code or self.default_code


class DnsRefused(DnsRejected):
    """The DNS server refused the update (REFUSED)."""

    default_code = "REFUSED"


class DnsNotAuthoritative(DnsRejected):
    """The DNS server is not authoritative for the zone, or does not know the key (NOTAUTH)."""

    default_code = "NOTAUTH"


class DnsNotZone(DnsRejected):
    """A record name lies outside the zone of the update (NOTZONE)."""

    default_code = "NOTZONE"


class TsigRejected(DnsRejected):
    """The DNS server rejected the TSIG signature (BADKEY, BADSIG, BADTIME)."""


class KerberosError(TsigRejected):
    """Kerberos (GSS-TSIG) signing failed: no key could be negotiated with the DNS server."""

    #: one code for every Kerberos failure: no update can be signed until a person acts (``KEY_VERDICTS``)
    default_code = "GSS"


class KerberosUnavailable(UsageError):
    """--gss-tsig needs the gssapi package: pip install 'dockernet[kerberos]'."""


class KdcUnreachable(DnsTransient):
    """No Kerberos KDC of the realm answers (a ticket cannot be had now)."""


class TransferNotAllowed(DnsError):
    """The DNS server does not let this key transfer the zone."""


#: TSIG verdicts: the key itself is refused, so no update of any name can succeed
KEY_VERDICTS = frozenset({"BADKEY", "BADSIG", "BADTIME", "TSIG", "GSS"})


# A name's prerequisite failed at every try (RFC 2136 section 3.2): one word for that event in the code, as
# ``Outcome.PREREQUISITE_FAILED`` (rfc2136/verdicts.py); the docstring below is the message users see.
class PrerequisiteFailed(DnsError):
    """The name kept changing on the server while dockernet updated it; it is tried again."""
