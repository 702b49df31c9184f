"""Kerberos tickets and GSS-API contexts, through the ``gssapi`` package: the only module that imports it.

With ``--keytab``, every negotiation acquires credentials anew from the
keytab into a private ``MEMORY:`` cache of this process: a ``Credentials``
acquired once does not refresh itself when its ticket expires, and the
user's own cache is never written (``client_keytab`` alone would put the
ticket there). Without it, the user's cache (``KRB5CCNAME``) is used as
``kinit`` left it. The system's Kerberos configuration applies as for any
MIT client (``KRB5_CONFIG``).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

from dockernet.errors import KerberosUnavailable
from dockernet.kerberos.failures import Who, explain

#: Kerberos V5 itself (RFC 4121), not wrapped in SPNEGO: BIND and Samba take both, but Samba 4.17's MICs on
#: answers fail MIT's check under SPNEGO ("Packet was replayed in wrong direction"), and SPNEGO reports a
#: failed ticket request under a code of its own, hiding the Kerberos error that says why
KRB5_OID = "1.2.840.113554.1.2.2"

_caches = itertools.count(1)


def gssapi_module() -> Any:
    """The gssapi package, or one clear line saying how to get it."""
    try:
        import gssapi  # the kerberos extra: only --gss-tsig loads it
    except ImportError:
        raise KerberosUnavailable(
            "--gss-tsig needs the gssapi package, which is not installed",
            hint="pip install 'dockernet[kerberos]' (PyPI's gssapi has no Linux wheel: it builds against MIT "
            "Kerberos, so first apt-get install libkrb5-dev gcc python3-dev)",
        ) from None
    return gssapi


@dataclass(frozen=True)
class Ticket:
    """Whose ticket signs, and for how long more (``dns check``)."""

    principal: str
    lifetime: int | None


class KerberosClient:
    """Credentials for one principal, and security contexts with DNS servers' service principals."""

    def __init__(self, keytab: str | None = None, principal: str | None = None):
        self.keytab = keytab
        self.principal = principal
        #: this process's own cache: never the user's, never another process's
        self._ccache = self._new_cache_name()

    @staticmethod
    def _new_cache_name() -> str:
        return f"MEMORY:dockernet-{os.getpid()}-{next(_caches)}"

    def fresh_tickets(self) -> None:
        """Start the next context from new tickets: MIT renews the ticket-granting ticket from the keytab, but
        keeps handing out the cached service ticket, whose shrinking life would shorten each key after it.
        A new cache per ticket's life: the old one (a few kB) stays, as MIT offers no way to drop it here."""
        if self.keytab:
            self._ccache = self._new_cache_name()

    @property
    def failure(self) -> type[Exception]:
        """The gssapi package's error type (a failed MIC check raises it)."""
        return gssapi_module().exceptions.GSSError

    def who(self, service: str = "") -> Who:
        return Who(self.principal, service, self.keytab)

    def credentials(self, service: str = "") -> Any:
        """Credentials to initiate with: fresh from the keytab, or the user's cache as it is."""
        gssapi = gssapi_module()
        try:
            name = gssapi.Name(self.principal, gssapi.NameType.kerberos_principal) if self.principal else None
            store = {"client_keytab": self.keytab, "ccache": self._ccache} if self.keytab else None
            creds = gssapi.Credentials(name=name, usage="initiate", store=store)
            creds.inquire()  # acquisition is lazy: a missing ticket or key is found here, not at the server
            return creds
        except gssapi.exceptions.GSSError as exc:
            raise explain(exc.min_code, exc.gen_message(), self.who(service)) from None

    def ticket(self) -> Ticket:
        """The principal that signs and its ticket's remaining life (None: not known until first used)."""
        creds = self.credentials()
        gssapi = gssapi_module()
        try:
            lifetime = creds.lifetime
        except gssapi.exceptions.GSSError:
            lifetime = None
        return Ticket(str(creds.name), lifetime)

    def context(self, service: str) -> Any:
        """A new context with the service principal ``service`` (given in full: no DNS look-ups to canonicalize it)."""
        gssapi = gssapi_module()
        creds = self.credentials(service)
        flags = gssapi.RequirementFlag
        try:
            return gssapi.SecurityContext(
                name=gssapi.Name(service, gssapi.NameType.kerberos_principal),
                creds=creds,
                usage="initiate",
                mech=gssapi.OID.from_int_seq(KRB5_OID),
                flags=flags.mutual_authentication | flags.replay_detection | flags.integrity,
            )
        except gssapi.exceptions.GSSError as exc:
            raise explain(exc.min_code, exc.gen_message(), self.who(service)) from None

    def step(self, context: Any, token: bytes | None, service: str) -> bytes | None:
        """One step of the context: the next token to send (None when there is none)."""
        gssapi = gssapi_module()
        try:
            return context.step(token)
        except gssapi.exceptions.GSSError as exc:
            raise explain(exc.min_code, exc.gen_message(), self.who(service)) from None

    def remaining(self, context: Any) -> float | None:
        """Seconds the context (its ticket) stays valid; None when it does not say."""
        gssapi = gssapi_module()
        try:
            lifetime = context.lifetime
        except gssapi.exceptions.GSSError:
            return None
        return float(lifetime) if lifetime is not None else None
