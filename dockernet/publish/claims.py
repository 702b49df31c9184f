"""What one running container asks to publish: names, their records, and PTRs (pure; no I/O).

Names come from the name templates (``templates.py``; by default the
hostname), the Compose service name ``<service>.<project>``, and the
container's labels, which win: ``dockernet.name`` replaces the template
names, ``dockernet.aliases`` adds names. Every label value is the
container's own and so untrusted: an invalid one is said (escaped) and
skipped, and can only cost its own container a name.

Names a whole Compose service shares (no per-container field in the
template) carry the service's **group** token: the claims of its replicas
on one name are merged into one RRset by ``ClaimIndex`` and marked as the
service's, so a replica stopping takes only its address with it.

SRV records (``_<service>._<proto>.<name>``) are published for each
published port with ``--publish-ports`` or the label ``dockernet.srv=true``.
With ``--address host``, a container that publishes ports is published at
this host's address (a NAT'd host: the container's own address means
nothing elsewhere) and its SRV records carry the host port; otherwise they
carry the container's port, which is what its own address answers on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import dns.name
import dns.reversename

from dockernet.engine.model import ContainerInfo
from dockernet.logformat import printable
from dockernet.publish.naming import record_name
from dockernet.publish.plan import MAX_RRSET, Claim, Record, capped
from dockernet.publish.templates import (
    COMPOSE_TEMPLATE,
    DEFAULT_TEMPLATES,
    NameTemplate,
    container_fields,
    parse,
    service_group,
)

LABEL_ENABLE = "dockernet.enable"
LABEL_NAME = "dockernet.name"
LABEL_ALIASES = "dockernet.aliases"
LABEL_TTL = "dockernet.ttl"
LABEL_NETWORK = "dockernet.network"
LABEL_SRV = "dockernet.srv"
_FALSE = {"false", "0", "no", "off"}
_TRUE = {"true", "1", "yes", "on"}
#: an RFC 6335 service name (section 5.1): up to 15 letters, digits and inner hyphens, at least one letter
_SRV_SERVICE = re.compile(r"(?=[a-z0-9-]*[a-z])[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?")
#: the default upper bound of a container's ``dockernet.ttl`` (one day)
MAX_TTL = 86400
#: the default bound on the names one container may ask for (``--max-names-per-container``)
MAX_NAMES = 32
#: one alias in a comma-separated label value, from its first character that is not a space: found lazily,
#: and entries of spaces alone are skipped by the regex engine, so a megabyte label costs next to nothing
_ALIAS = re.compile(r"[^, ][^,]*")
#: ``--address``: publish the container's own addresses, or this host's for containers that publish ports
ADDRESS_CONTAINER = "container"
ADDRESS_HOST = "host"

log = logging.getLogger("dockernet")

Say = Callable[[int, str], None]


@dataclass(frozen=True)
class RecordPolicy:
    """What the watcher publishes, independent of where it sends it."""

    zone: dns.name.Name
    ttl: int
    #: reverse zones PTR records are published in (empty: no PTR records)
    reverse_zones: tuple[dns.name.Name, ...] = ()
    #: publish only addresses on these networks (empty: every network)
    networks: frozenset[str] = frozenset()
    #: the largest TTL a container may ask for with ``dockernet.ttl``
    max_ttl: int = MAX_TTL
    #: the name templates, checked (``templates.check_all``)
    templates: tuple[NameTemplate, ...] = tuple(parse(text) for text in DEFAULT_TEMPLATES)
    #: also publish ``<service>.<project>`` for Compose containers
    compose_names: bool = True
    #: SRV records for every container's published ports (else only with ``dockernet.srv=true``)
    publish_ports: bool = False
    address: str = ADDRESS_CONTAINER
    #: this host's address, for ``address == "host"``
    host_address: str = ""
    #: names one container may ask for: templates, networks, aliases and SRV names (not its PTRs)
    max_names: int = MAX_NAMES


@dataclass(frozen=True)
class _Name:
    fqdn: dns.name.Name
    addresses: tuple[str, ...]
    #: the Compose service whose replicas share the name, or "" for the container's own name
    group: str = ""


def address_records(addresses: Iterable[str]) -> tuple[Record, ...]:
    """A container's addresses as A and AAAA records, in a stable order."""
    return tuple(sorted(("AAAA" if ":" in a else "A", a) for a in addresses))


def claims_of(info: ContainerInfo, policy: RecordPolicy, say: Say | None = None) -> list[Claim]:
    """The names a container asks for; ``say(level, text)`` hears why a name was changed or skipped.

    ``dockernet.enable=false`` publishes nothing, ``dockernet.ttl`` sets the
    TTL and ``dockernet.network`` publishes one network's addresses only. An
    invalid label value is reported and ignored, never fatal.
    """
    if not info.running:
        return []
    say = say or (lambda level, text: log.log(level, "%s", text))
    labels = info.labels or {}
    if labels.get(LABEL_ENABLE, "").strip(" ").lower() in _FALSE:
        say(
            logging.INFO,
            f"Container ({info.short_id}) has {LABEL_ENABLE}={printable(labels[LABEL_ENABLE])}: not published",
        )
        return []
    ttl = label_ttl(
        labels.get(LABEL_TTL), policy, lambda text: say(logging.WARNING, f"Container ({info.short_id}): {text}")
    )
    pairs = _published_addresses(info, policy, say)
    if not pairs:
        return []
    on_host = policy.address == ADDRESS_HOST and bool(info.ports) and bool(policy.host_address)
    room = _Room(policy.max_names, info.short_id, say)
    names = _names(info, policy, pairs, say, room)
    if on_host:
        names = [_Name(name.fqdn, (policy.host_address,), name.group) for name in names]
    claims = [
        Claim(name.fqdn, info.id, address_records(name.addresses), ttl, info.created, name.group) for name in names
    ]
    own = [name.fqdn for name in names if not name.group]
    claims += _srv_claims(info, policy, names, own[0] if own else None, on_host, ttl, say, room)
    claims = [_within_limit(claim, say) for claim in claims]
    if own and not on_host:  # this host's address has a PTR of its own, not ours to write
        mine = set(own)
        claims += _ptr_claims(info, policy, [claim for claim in claims if claim.fqdn in mine], ttl)
    return claims


def _published_addresses(info: ContainerInfo, policy: RecordPolicy, say: Say) -> tuple[tuple[str, str], ...]:
    """The (network, address) pairs the container may publish on the networks ``--network`` and its
    ``dockernet.network`` label allow; none (said why) leaves it unpublished."""
    allowed = set(policy.networks)
    wanted_network = (info.labels or {}).get(LABEL_NETWORK, "").strip(" ")
    if wanted_network:  # a label only narrows what the operator allows (--network), never widens it
        if allowed and wanted_network not in allowed:
            say(
                logging.WARNING,
                f"Container ({info.short_id}) asks for {LABEL_NETWORK}='{printable(wanted_network)}'"
                ", which --network does not allow; nothing to publish",
            )
            return ()
        allowed = {wanted_network}
    pairs = info.networks or tuple(("", address) for address in info.addresses)
    pairs = tuple(pair for pair in pairs if not allowed or pair[0] in allowed)
    if not pairs:
        where = f" on {', '.join(printable(network) for network in sorted(allowed))}" if allowed else ""
        say(
            logging.INFO,
            f"Container ({info.short_id}) {printable(info.name)} has no address{where}; nothing to publish",
        )
    return pairs


class _Room:
    """How many more names a container may ask for (``RecordPolicy.max_names``); said once when it runs out.

    Every name asked for counts, valid or not, so a label of thousands of
    aliases costs the watcher no more than ``max_names`` names' work, and
    no other container waits behind it.
    """

    def __init__(self, limit: int, short_id: str, say: Say):
        self.left = limit
        self._limit = limit
        self._short_id = short_id
        self._say = say

    def take(self) -> bool:
        """One more name, if there is room; False (said once) when there is none."""
        if self.left > 0:
            self.left -= 1
            return True
        if self.left == 0:
            self.left = -1
            self._say(
                logging.WARNING,
                f"Container ({self._short_id}) asks for more than {self._limit} names; "
                f"publishing the first {self._limit} (--max-names-per-container)",
            )
        return False


def _names(info: ContainerInfo, policy: RecordPolicy, pairs, say: Say, room: _Room) -> list[_Name]:
    """The container's forward names, each with the addresses it carries; the first is its primary name."""
    labels = info.labels or {}
    fields = container_fields(info.hostname, info.name, info.id, labels)
    group = service_group(fields)
    addresses = tuple(sorted({address for _, address in pairs}))
    names: dict[dns.name.Name, _Name] = {}  # in the order asked; a name asked for twice is one name

    def add(decision, carried=addresses, shared=False) -> None:
        if decision is None or not room.take():
            return
        if decision.skipped:
            say(
                logging.WARNING,
                f"Skipping container ({info.short_id}) name '{printable(decision.source)}': {decision.note}",
            )
            return
        if decision.note:
            say(logging.INFO, f"Using {decision.fqdn} for container ({info.short_id}): {decision.note}")
        names.setdefault(decision.fqdn, _Name(decision.fqdn, carried, group if shared else ""))

    def add_template(template: NameTemplate) -> None:
        shared = template.names_service
        if shared and not group:  # not a Compose service's container, or its labels give no valid token
            decision = template.name_for(fields, policy.zone)
            if decision is not None and decision.skipped:
                add(decision)  # says why
            return
        if "network" not in template.fields:
            add(template.name_for(fields, policy.zone), shared=shared)
            return
        for network in sorted({network for network, _ in pairs}):
            carried = tuple(sorted(address for name, address in pairs if name == network))
            add(template.name_for({**fields, "network": network}, policy.zone), carried, shared)

    # label values may be padded with spaces ("a, b"); nothing else is trimmed: a newline is invalid, not repaired
    chosen = labels.get(LABEL_NAME, "").strip(" ")
    if chosen:
        add(record_name(chosen, "", info.id, policy.zone))
    else:
        for template in policy.templates:
            add_template(template)
    for match in _ALIAS.finditer(labels.get(LABEL_ALIASES, "")):
        if room.left < 0:
            break  # said; the rest of the label is not even read
        add(record_name(match.group().rstrip(" "), "", info.id, policy.zone))
    if policy.compose_names:
        add_template(_COMPOSE)
    return list(names.values())


_COMPOSE = parse(COMPOSE_TEMPLATE)


def _ptr_claims(info: ContainerInfo, policy: RecordPolicy, own: list[Claim], ttl: int) -> list[Claim]:
    """A PTR for each address the container's own names publish, to the first name publishing it.

    Only published addresses count (at most ``MAX_RRSET`` of a family per
    name), so a reverse record never points at a name whose forward
    record left that address out, and a container on a thousand networks
    asks for no more PTRs than its names carry.
    """
    target: dict[str, dns.name.Name] = {}
    for claim in own:
        for rdtype, address in claim.records:
            if rdtype in ("A", "AAAA"):
                target.setdefault(address, claim.fqdn)
    claims = []
    for address in sorted(target):
        reverse = dns.reversename.from_address(address)
        if any(reverse.is_subdomain(zone) for zone in policy.reverse_zones):
            claims.append(Claim(reverse, info.id, (("PTR", target[address].to_text()),), ttl, info.created))
    return claims


def _within_limit(claim: Claim, say: Say) -> Claim:
    """The claim with at most ``MAX_RRSET`` records of a type (the first, in sorted order), said when cut.

    A container on more networks, or publishing a port on more host ports,
    would otherwise ask for an RRset the server refuses (SERVFAIL, which
    counts as the server failing: every other name would wait).
    """
    if len(claim.records) <= MAX_RRSET:  # nearly every claim: nothing to count
        return claim
    records, left_out = capped(claim.records)
    if not left_out:
        return claim
    say(
        logging.WARNING,
        f"Container ({claim.short_id}): {claim.fqdn} would hold more than {MAX_RRSET} records of a "
        f"type; publishing the first {MAX_RRSET} of each ({left_out} left out)",
    )
    return replace(claim, records=records)


def _srv_claims(
    info: ContainerInfo,
    policy: RecordPolicy,
    names: list[_Name],
    primary: dns.name.Name | None,
    on_host: bool,
    ttl: int,
    say: Say,
    room: _Room,
) -> list[Claim]:
    """``_<service>._<proto>.<name>`` SRV claims for the container's published ports, when asked for."""
    labels = info.labels or {}
    wanted = labels.get(LABEL_SRV, "").strip(" ").lower()
    if not info.ports or wanted in _FALSE or not (policy.publish_ports or wanted in _TRUE):
        return []
    services: dict[tuple[str, str], set[int]] = {}
    refused: list[tuple[int, str]] = []
    for container_port, proto, host_port in info.ports:
        label = labels.get(f"{LABEL_SRV}.{container_port}")
        service = str(container_port) if label is None else label.strip(" ").lower()
        if label is not None and not _SRV_SERVICE.fullmatch(service):
            refused.append((container_port, label))
            continue
        services.setdefault((service, proto), set()).add(host_port if on_host else container_port)
    if refused:  # one line however many ports a container labels wrongly
        port, label = refused[0]
        say(
            logging.WARNING,
            f"Container ({info.short_id}): ignoring {LABEL_SRV}.{port}='{printable(label)}'"
            f"{f' and {len(refused) - 1} more' if len(refused) > 1 else ''} (a service name is "
            "1-15 letters, digits and hyphens); no SRV record for those ports",
        )
    claims: list[Claim] = []
    for name in names:
        target = (name.fqdn if not name.group or primary is None else primary).to_text()
        for (service, proto), ports in sorted(services.items()):
            if not room.take():
                return claims
            records = tuple(sorted(("SRV", f"0 0 {port} {target}") for port in ports))
            try:
                fqdn = dns.name.Name((f"_{service}".encode(), f"_{proto}".encode())).concatenate(name.fqdn)
            except dns.name.NameTooLong:
                say(
                    logging.WARNING,
                    f"Container ({info.short_id}): no SRV record _{service}._{proto}.{name.fqdn} "
                    "(longer than a DNS name may be)",
                )
                continue
            claims.append(Claim(fqdn, info.id, records, ttl, info.created, name.group))
    return claims


def label_ttl(text: str | None, policy: RecordPolicy, warn: Callable[[str], None]) -> int:
    """The TTL a ``dockernet.ttl`` label asks for: the default when absent or invalid, capped at ``max_ttl``."""
    if text is None:
        return policy.ttl
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        warn(f"ignoring {LABEL_TTL}='{printable(text)}' (not a TTL in seconds)")
        return policy.ttl
    ttl = int(text)
    if ttl > policy.max_ttl:
        warn(f"{LABEL_TTL}={ttl} is above the maximum {policy.max_ttl} (--max-ttl); using {policy.max_ttl}")
        return policy.max_ttl
    return ttl
