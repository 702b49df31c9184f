"""``GssSigner``: the Signer (rfc2136/signer.py) for GSS-TSIG, one negotiated key per server, renewed in time.

A negotiated key lives on the one server it was made with, and not for
long: named keeps it at most an hour and never past the ticket's life
(plus clock skew), Active Directory less. After that MIT still signs with
the dead context and the server answers BADKEY. So the key is renewed a
fifth of its life ahead of its expiration (``Negotiated.renew_at``), and
once more when a server rejects it anyway (a restarted server forgets every
key): ``transport.exchange`` then asks ``renew`` and sends again, once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import dns.message
import dns.name
import dns.rdatatype
import dns.tsig

from dockernet.errors import KerberosError
from dockernet.kerberos.client import KerberosClient
from dockernet.kerberos.negotiation import Negotiated, negotiate, service_principal
from dockernet.rfc2136.target import DnsTarget

log = logging.getLogger("dockernet")

Negotiate = Callable[[KerberosClient, str, DnsTarget], Negotiated]
Exchange = Callable[[DnsTarget, dns.message.Message], dns.message.Message]


class GssSigner:
    """Signs with GSS-TSIG keys negotiated as one Kerberos principal, per server, renewed before they expire."""

    negotiated = True

    def __init__(
        self,
        client: KerberosClient,
        exchange: Exchange,
        service: str | None = None,
        clock: Callable[[], float] = time.time,
        negotiate_key: Negotiate | None = None,
    ):
        self.client = client
        #: sends an unsigned message over TCP (the TKEY and SOA queries)
        self.exchange = exchange
        #: --server-principal; None: DNS/<the zone's SOA MNAME>@<the principal's realm>
        self.service = service
        self.clock = clock
        self._negotiate = negotiate_key or (lambda c, s, t: negotiate(c, s, t, exchange, clock))
        self._keys: dict[tuple[str, int], Negotiated] = {}
        #: how many keys were negotiated (metrics, tests)
        self.negotiations = 0

    def __str__(self) -> str:
        return f"GSS-TSIG as {self.identity}"

    @property
    def identity(self) -> str:
        return f"Kerberos principal '{self.client.principal}'" if self.client.principal else "Kerberos credentials"

    @property
    def acl_name(self) -> str:
        return f'"{self.client.principal}"' if self.client.principal else '"<principal>@<REALM>"'

    def key_for(self, target: DnsTarget) -> dns.tsig.Key:
        slot = (target.server, target.port)
        held = self._keys.get(slot)
        if held is None or self.clock() >= held.renew_at:
            held = self._keys[slot] = self._negotiate_with(target, renewal=held is not None)
        return held.key

    def renew(self, target: DnsTarget) -> bool:
        self._keys.pop((target.server, target.port), None)
        return True

    def service_for(self, target: DnsTarget) -> str:
        """The server's service principal: --server-principal, else DNS/<SOA MNAME>@<realm>."""
        if self.service:
            return self.service
        mname = target.mname or self._mname(target)
        return service_principal(mname, self._realm())

    def _negotiate_with(self, target: DnsTarget, renewal: bool) -> Negotiated:
        service = self.service_for(target)
        negotiated = self._negotiate(self.client, service, target)
        self.negotiations += 1
        log.info(
            "Negotiated a %sGSS-TSIG key with %s for %s as %s, valid for %.0f s",
            "new " if renewal else "",
            target.where,
            service,
            self.identity,
            negotiated.expires - negotiated.at,
        )
        return negotiated

    def _mname(self, target: DnsTarget) -> str:
        query = dns.message.make_query(target.zone, dns.rdatatype.SOA)
        response = self.exchange(target, query)
        rrset = response.get_rrset(response.answer, target.zone, dns.rdataclass.IN, dns.rdatatype.SOA)
        if not rrset:
            raise KerberosError(
                f"{target.where} gave no SOA for zone {target.zone.to_text(omit_final_dot=True)}, whose MNAME "
                f"names the DNS server's Kerberos principal",
                hint="check --zone, or give --server-principal",
            )
        return rrset[0].mname.to_text(omit_final_dot=True)

    def _realm(self) -> str:
        principal = self.client.principal or self.client.ticket().principal
        if "@" not in principal:
            raise KerberosError(
                f"cannot tell the realm of principal '{principal}'", hint="give --principal with its @REALM"
            )
        return principal.rsplit("@", 1)[1]

    def grant_statement(self, zone: str) -> str:
        return f"update-policy {{ grant {self.acl_name} subdomain {zone}. ANY; }};"

    def refusal_hint(self, zone: str) -> str:
        return (
            f"the zone does not let {self.identity} change this name: for BIND, add to the zone "
            f"{self.grant_statement(zone)} for Active Directory, the account needs the right to create records "
            f"in the zone, and a name another account created stays that account's"
        )

    def transfer_advice(self, zone: str) -> str:
        return (
            "GSS-TSIG key names are new at every negotiation, so no allow-transfer { key ...; } can name them: "
            "allow the transfer by address (allow-transfer { <this host>; };), or leave it refused and let "
            "dockernet work from its journal (Active Directory refuses transfers by default)"
        )
