"""The running containers' claims, indexed by name and by container (pure; no I/O).

One event touches the names of one container only: ``set_container`` says
which names its change concerns, and ``claims_for`` gives each name's claims
with the replicas of one Compose service merged (``plan.merge_replicas``).
"""

from __future__ import annotations

from collections.abc import Iterable

import dns.name

from dockernet.publish.plan import Claim, Current, Owned, forward_first, is_reverse_name, is_srv_name, merge_replicas


class ClaimIndex:
    """The running containers' claims, by name and by container."""

    def __init__(self) -> None:
        self._by_name: dict[dns.name.Name, dict[str, Claim]] = {}
        self._by_container: dict[str, set[dns.name.Name]] = {}

    def claims_for(self, fqdn: dns.name.Name) -> list[Claim]:
        """The claims on a name, the replicas of one service merged into one (``plan.merge_replicas``)."""
        claims = list(self._by_name.get(fqdn, {}).values())
        return merge_replicas(claims) if any(claim.group for claim in claims) else claims

    def names(self) -> set[dns.name.Name]:
        return set(self._by_name)

    def names_of(self, container_id: str) -> set[dns.name.Name]:
        return set(self._by_container.get(container_id, ()))

    def hanging_on(self, fqdn: dns.name.Name) -> dict[str, set[dns.name.Name]]:
        """Per claimant of ``fqdn`` (each replica of a shared name on its own): its SRV names and PTRs on it.

        Compares labels and record text (what ``plan.parent_name`` gives), not
        parsed names: this runs for every name applied.
        """
        found: dict[str, set[dns.name.Name]] = {}
        target = ""
        for container_id in self._by_name.get(fqdn, ()):
            derived = set()
            for name in self._by_container.get(container_id, ()):
                if is_srv_name(name) and name.labels[2:] == fqdn.labels:
                    derived.add(name)
                elif is_reverse_name(name):
                    target = target or fqdn.to_text()
                    if self._by_name[name][container_id].records[0][1] == target:
                        derived.add(name)
            if derived:
                found[container_id] = derived
        return found

    def wanted_by(self, fqdn: dns.name.Name, held: Current) -> tuple[str, ...]:
        """The short ids of the containers that want a name (with none, the one it is ``held`` for)."""
        containers = tuple(sorted({claim.short_id for claim in self.claims_for(fqdn)}))
        if not containers and isinstance(held, Owned):
            containers = (held.short_id,)
        return containers

    def claims_of_container(self, container_id: str) -> list[Claim]:
        """One container's claims, forward names first."""
        return [
            self._by_name[fqdn][container_id]
            for fqdn in sorted(self._by_container.get(container_id, ()), key=forward_first)
        ]

    def set_container(self, container_id: str, claims: Iterable[Claim]) -> set[dns.name.Name]:
        """Replace one container's claims; returns every name whose claims changed."""
        old_names = self._by_container.pop(container_id, set())
        for fqdn in old_names:
            holders = self._by_name[fqdn]
            holders.pop(container_id, None)
            if not holders:
                del self._by_name[fqdn]
        new_names = set()
        for claim in claims:
            self._by_name.setdefault(claim.fqdn, {})[container_id] = claim
            new_names.add(claim.fqdn)
        if new_names:
            self._by_container[container_id] = new_names
        return old_names | new_names

    def replace_all(self, claims_by_container: dict[str, list[Claim]]) -> set[dns.name.Name]:
        """Start over from a full listing; returns the names claimed before or now."""
        before = self.names()
        self._by_name.clear()
        self._by_container.clear()
        for container_id, claims in claims_by_container.items():
            self.set_container(container_id, claims)
        return before | self.names()
