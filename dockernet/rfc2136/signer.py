"""What signs dockernet's messages: a TSIG key from a file, or a GSS-TSIG key negotiated through Kerberos.

Messages are built unsigned; ``transport.exchange`` signs each one just
before it leaves, with the key the target's signer gives for that server at
that moment. So a negotiated key about to expire is replaced before a
message goes out, and one the server has forgotten (BADKEY, BADSIG after a
restart) is renegotiated and the message sent once more (``renew``). A key
read from a file never changes between SIGHUPs: ``renew`` says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import dns.tsig

    from dockernet.rfc2136.target import DnsTarget


class Signer(Protocol):
    #: True when the key is made with the server itself (GSS-TSIG): it exists only on the server it was
    #: negotiated with, so updates go where the zone's SOA says, as ``nsupdate -g`` sends them
    negotiated: bool

    @property
    def identity(self) -> str:
        """Who signs, for messages: ``key 'ddns-key'``, ``Kerberos principal 'dockernet/host1@BAR.TEST'``."""
        ...

    @property
    def acl_name(self) -> str:
        """How named.conf names the signer in an ACL or a grant: ``key "ddns-key"``, ``"host1$@AD.TEST"``."""
        ...

    def key_for(self, target: DnsTarget) -> dns.tsig.Key:
        """The key to sign a message to ``target``'s server with now (negotiating one first if need be)."""
        ...

    def renew(self, target: DnsTarget) -> bool:
        """Forget the key ``target``'s server rejected; True when another can be had (then send again once)."""
        ...

    def grant_statement(self, zone: str) -> str:
        """The named.conf zone statement that lets this signer update ``zone``."""
        ...

    def refusal_hint(self, zone: str) -> str:
        """What to change on the server when it refuses this signer's updates of ``zone``."""
        ...

    def transfer_advice(self, zone: str) -> str:
        """How to let this signer transfer ``zone`` (``dns check``), or what to do instead."""
        ...
