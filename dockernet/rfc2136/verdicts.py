"""What a server's answer to an UPDATE means: applied, a prerequisite failed, or a typed refusal (pure).

Vocabulary: when a prerequisite does not hold (RFC 2136 section 3.2: the
server answers YXDOMAIN, YXRRSET, NXDOMAIN or NXRRSET and changes nothing)
the code says **prerequisite failed**, after the RFC, everywhere:
``Outcome.PREREQUISITE_FAILED`` here, ``PrerequisiteFailed`` when it keeps
happening to one name (``dockernet.errors``). What users see is unchanged:
the metric labels ``PREREQUISITE_FAILED`` and ``CONTENDED`` and the log lines.

Branches on rcodes and dnspython's TSIG exception types, never on text;
the errors say what to fix (``DnsRejected``) or that a retry may help
(``DnsTransient``).
"""

from __future__ import annotations

import enum

import dns.message
import dns.name
import dns.rcode
import dns.tsig

from dockernet.errors import (
    DnsNotAuthoritative,
    DnsNotZone,
    DnsRefused,
    DnsRejected,
    DnsServerFailure,
    DnsTransient,
    TsigRejected,
)
from dockernet.rfc2136.target import DnsTarget

#: rcodes with which a server says "a prerequisite did not hold" (RFC 2136 section 3.2)
PREREQUISITE_FAILED_RCODES = frozenset({dns.rcode.YXDOMAIN, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.NXRRSET})
#: dnspython's ways of saying a TSIG signature or key did not verify, on either side
TSIG_ERRORS = (
    dns.tsig.PeerError,
    dns.tsig.BadSignature,
    dns.tsig.BadKey,
    dns.tsig.BadTime,
    dns.tsig.BadAlgorithm,
    dns.message.UnknownTSIGKey,
)


class Outcome(enum.Enum):
    APPLIED = "applied"
    #: a prerequisite did not hold: nothing changed, the name is not in the state the plan assumed
    PREREQUISITE_FAILED = "prerequisite failed"


def outcome_of(rcode: dns.rcode.Rcode, target: DnsTarget, zone: dns.name.Name | None = None) -> Outcome:
    """The outcome of an UPDATE answered ``rcode``; raises the refusal for any other answer."""
    if rcode == dns.rcode.NOERROR:
        return Outcome.APPLIED
    if rcode in PREREQUISITE_FAILED_RCODES:
        return Outcome.PREREQUISITE_FAILED
    raise rejection_for_rcode(rcode, target, zone)


def _key_label(target: DnsTarget) -> str:
    return target.key.identity if target.key else "unsigned update"


def rejection_for_rcode(
    rcode: dns.rcode.Rcode, target: DnsTarget, zone_name: dns.name.Name | None = None
) -> DnsRejected | DnsTransient:
    """The error that says what a non-success rcode means for an update of the zone."""
    zone = (zone_name or target.zone).to_text(omit_final_dot=True)
    name = dns.rcode.to_text(rcode)
    if target.not_primary and rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
        return (DnsRefused if rcode == dns.rcode.REFUSED else DnsNotAuthoritative)(
            f"update of zone {zone} refused by {target.where} ({name})", hint=target.not_primary
        )
    if rcode == dns.rcode.REFUSED:
        return DnsRefused(
            f"update of zone {zone} refused by {target.where} (REFUSED)",
            hint=target.key.refusal_hint(zone)
            if target.key
            else "named.conf does not grant this host's address updates to this zone: add allow-update "
            "{ <this host's address>; }; or sign the updates (--key-file)",
        )
    if rcode == dns.rcode.NOTAUTH:
        return DnsNotAuthoritative(
            f"{target.where} is not authoritative for zone {zone}, or does not accept {_key_label(target)} (NOTAUTH)",
            hint="check --zone and --server, and that named.conf includes the same key",
        )
    if rcode == dns.rcode.NOTZONE:
        return DnsNotZone(f"a record name lies outside zone {zone} (NOTZONE)", hint="check --zone")
    if rcode == dns.rcode.SERVFAIL:
        return DnsServerFailure(f"{target.where} failed to process the update (SERVFAIL)")
    return DnsRejected(f"{target.where} answered {name} to an update of zone {zone}", code=name)


def tsig_rejection(exc: Exception, target: DnsTarget) -> TsigRejected:
    """The error for a TSIG failure, naming the key and the TSIG error."""
    label = _key_label(target)
    if isinstance(exc, dns.tsig.PeerBadKey):
        return TsigRejected(
            f"{label} rejected by {target.where} (BADKEY)",
            hint="the server knows no key of this name and algorithm: check that named.conf includes the same key",
            code="BADKEY",
        )
    if isinstance(exc, dns.tsig.PeerBadSignature):
        return TsigRejected(
            f"{label} rejected by {target.where} (BADSIG)",
            hint="the secret differs from the server's copy of the key: use the same key file on both sides",
            code="BADSIG",
        )
    if isinstance(exc, dns.tsig.PeerBadTime):
        return TsigRejected(
            f"{label} rejected by {target.where} (BADTIME)",
            hint="this host's clock and the server's differ by more than 5 minutes: synchronise them (NTP)",
            code="BADTIME",
        )
    return TsigRejected(
        f"the answer of {target.where} to {label} does not verify ({exc.__class__.__name__})",
        hint="the server signs with another secret: use the same key file on both sides",
        code="TSIG",
    )
