"""Which DNS name a container gets (pure; no I/O).

The record is ``<hostname>.<zone>``, hostname being what ``docker run -h``
set. Docker gives a container without ``-h`` its 12-hex short id as hostname;
that says nothing to a person, so the container's name is used instead.

Names must be valid host names (RFC 1123 section 2.1, RFC 1035 section 2.3.1:
letters, digits and hyphens, labels of 1 to 63 octets, no hyphen at either
end). Two repairs are unambiguous and are made: upper case is folded to lower
case (DNS compares names case-insensitively anyway) and ``_`` becomes ``-``
(Compose names ``proj_web_1``). Anything else is skipped with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dns.exception
import dns.name

from dockernet.logformat import printable

# Matched with ``fullmatch`` only: ``$`` also matches before a trailing newline, and a
# name with a newline in it is refused by the server for everyone after it in the queue.
#: what may come in: ASCII letters, digits, ``-`` and ``_`` (checked before any repair, so
#: ``str.lower`` never turns a non-ASCII character such as the Kelvin sign into ASCII)
_RAW_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}")
#: what may go out: an RFC 1123 host-name label
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A textual name longer than this does not fit in 255 octets of wire format.
_MAX_NAME_TEXT = 253


# Zone and key names end up in named.conf, in file names and in nsupdate scripts: letters,
# digits, '-' and '_' per label, matched whole, so no quote, brace, ';', '/' or space gets in.
_CONF_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def conf_safe_name(text: str) -> bool:
    """Whether ``text`` is a DNS name made only of letter-digit-hyphen(-underscore) labels."""
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    return 0 < len(text) <= 254 and all(_CONF_LABEL.fullmatch(label) for label in labels)


@dataclass(frozen=True)
class NameDecision:
    """The outcome of naming one container: a name, or why there is none."""

    fqdn: dns.name.Name | None
    source: str
    #: why the name differs from ``source`` or why there is no name; empty when neither
    note: str = ""

    @property
    def skipped(self) -> bool:
        return self.fqdn is None


def source_name(hostname: str, container_name: str, container_id: str) -> str:
    """The name a person gave the container: its hostname, else its name."""
    hostname = hostname or ""
    if not hostname or hostname == container_id[:12]:
        return container_name.lstrip("/")
    return hostname


def repair_label(label: str) -> str | None:
    """``label`` made a valid host-name label, or None where no unambiguous repair exists."""
    if not _RAW_LABEL.fullmatch(label):
        return None
    candidate = label.lower().replace("_", "-")
    return candidate if _LABEL.fullmatch(candidate) else None


def record_name(hostname: str, container_name: str, container_id: str, zone: dns.name.Name) -> NameDecision:
    """Decide the record name for a container in ``zone`` from its hostname (or name).

    A single label is placed in the zone. A dotted name is taken as a full
    name: used as it is when it lies inside the zone, skipped when outside.
    """
    source = source_name(hostname, container_name, container_id)
    return place_name(source, zone, full="." in source.rstrip("."))


def place_name(source: str, zone: dns.name.Name, full: bool) -> NameDecision:
    """Make ``source`` a name in ``zone``: relative to it, or, when ``full``, a full name that must lie inside it.

    Inside is decided on label boundaries (``is_subdomain``), so
    ``fooexample.com`` is not in ``example.com``; the zone's own apex is
    never a container's.
    """
    text = source.rstrip(".")
    if not text:
        return NameDecision(None, source, "empty name")
    if len(text) > _MAX_NAME_TEXT:  # said before any label is looked at: a megabyte label costs nothing
        return NameDecision(None, source, "the name is longer than 253 characters")
    labels = text.split(".")
    repaired = [repair_label(label) for label in labels]
    if any(label is None for label in repaired):
        bad = next(label for label, fixed in zip(labels, repaired, strict=True) if fixed is None)
        return NameDecision(
            None, source, f"'{printable(bad)}' is not a valid DNS label (letters, digits, hyphens; 1-63 long)"
        )
    fixed = [label for label in repaired if label is not None]  # all of them, as checked above
    fixed_text = ".".join(fixed)
    try:
        if full:
            fqdn = dns.name.from_text(fixed_text)
        else:
            fqdn = dns.name.Name(tuple(label.encode() for label in fixed)).concatenate(zone)
    except dns.exception.DNSException:
        return NameDecision(None, source, "the name is longer than 253 characters")
    if full and (not fqdn.is_subdomain(zone) or fqdn == zone):
        return NameDecision(None, source, f"{fqdn} is outside the zone {zone}")
    if len(fqdn.to_text(omit_final_dot=True)) > _MAX_NAME_TEXT:
        return NameDecision(None, source, "the name is longer than 253 characters")
    note = f"made a valid DNS name from '{printable(source)}'" if fixed_text != text else ""
    return NameDecision(fqdn, source, note)
