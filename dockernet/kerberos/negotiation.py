"""Negotiating a GSS-TSIG key with one DNS server: the TKEY round trips over TCP (RFC 3645 section 4.1).

The server's last answer carries its final token and is signed with the new
context; dnspython verifies that signature through the keyring, so the
keyring first hands the token to the context (``_StepThenVerify``), as
``dns.tsig.GSSTSigAdapter`` does. An unsigned answer's token is stepped here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.tsig

from dockernet.errors import KerberosError
from dockernet.kerberos import tkey
from dockernet.kerberos.client import KerberosClient
from dockernet.rfc2136.target import DnsTarget

log = logging.getLogger("dockernet")

#: SPNEGO with Kerberos takes one round trip; a few more are allowed, never an endless exchange
MAX_ROUND_TRIPS = 4


@dataclass(frozen=True)
class Negotiated:
    """A key set up with one server, and when it stops working there."""

    key: dns.tsig.Key
    at: float
    expires: float

    @property
    def renew_at(self) -> float:
        """When to negotiate the next key: ahead of the expiration by a fifth of the life, 1 s to 5 min."""
        life = max(0.0, self.expires - self.at)
        return self.expires - min(300.0, max(1.0, life / 5))


class SignatureContext:
    """What dnspython signs and verifies with (``dns.tsig.Key.secret``): the context, forgiving Samba's MACs.

    Samba 4.17 departs from RFC 8945 twice, and both are read here:
    - an answer's MAC covers the request's MAC with its 2-octet length
      first (section 4.3.3); Samba leaves the length out when it signs
      answers to UPDATEs (nsupdate -g says "tsig verify failure" for updates
      that were applied). An answer that does not verify is tried once more
      in Samba's form: both are MICs of the same context, forging nothing;
    - when a prerequisite fails (and on other errors) Samba does not sign its
      answer but sends the request's own TSIG back, which anyone who saw the
      request could copy. Such an echo is taken only when it says a
      prerequisite failed (RFC 2136 section 3.2): that only makes dockernet
      read the name again, signed, so a forged one changes nothing. An echo
      with any other rcode, a refusal included, does not verify.
    """

    def __init__(self, context: Any, verify_failed: type[Exception]):
        self.context = context
        self._verify_failed = verify_failed
        #: the MAC of the last message signed: an answer carrying it back is Samba's echo
        self._sent = b""

    def get_signature(self, data: bytes) -> bytes:
        self._sent = bytes(self.context.get_signature(data))
        return self._sent

    def verify_signature(self, data: bytes, mac: bytes) -> Any:
        if self._sent and mac == self._sent and _rcode_after(data, len(mac)) in _PREREQUISITE_FAILED:
            return None  # Samba's answer that a prerequisite failed: our own TSIG echoed, nothing to check
        try:
            return self.context.verify_signature(data, mac)
        except self._verify_failed:
            if len(data) < 2:
                raise
            return self.context.verify_signature(data[2:], mac)  # Samba's form: no length before the request MAC


#: YXDOMAIN, YXRRSET, NXRRSET, NXDOMAIN: what an echoed answer may say (``SignatureContext``)
_PREREQUISITE_FAILED = frozenset({6, 7, 8, 3})


def _rcode_after(data: bytes, mac_length: int) -> int:
    """The rcode of the answer in the data its MAC covers: the request MAC (with its length), the
    answer's original id, then the answer from its flags on (RFC 8945 section 4.3.3)."""
    flags = 2 + mac_length + 2
    return data[flags + 1] & 0x0F if len(data) > flags + 1 else 0


class _StepThenVerify:
    """A dnspython keyring: gives the server's token in a signed TKEY answer to the context, then the key."""

    def __init__(self, key: dns.tsig.Key, client: KerberosClient, service: str):
        self.key = key
        self.client = client
        self.service = service
        self.stepped = False

    def __call__(self, message: dns.message.Message | None, keyname: dns.name.Name) -> dns.tsig.Key | None:
        if keyname != self.key.name:
            return None
        secret: Any = self.key.secret
        context = secret.context  # dnspython keeps what signs where an HMAC secret goes
        if message is not None and not context.complete:
            rrset = message.get_rrset(message.answer, keyname, dns.rdataclass.ANY, dns.rdatatype.TKEY)
            if rrset and rrset[0].key:
                self.client.step(context, bytes(rrset[0].key), self.service)
                self.stepped = True
        return self.key


def service_principal(mname: str, realm: str) -> str:
    """DNS/<the zone's SOA MNAME>@<realm>, as nsupdate -g builds it: never from --server, which may be an address."""
    return f"DNS/{mname.rstrip('.')}@{realm}"


def negotiate(
    client: KerberosClient, service: str, target: DnsTarget, exchange: Any, clock: Any = time.time
) -> Negotiated:
    """A new key with ``target``'s server for ``service``, by as many TKEY round trips as the context needs.

    ``exchange(target, message)`` sends an unsigned message over TCP and
    returns the answer (``transport.exchange_unsigned``).
    """
    context = client.context(service)
    keyname = tkey.new_key_name()
    secret: Any = SignatureContext(context, client.failure)  # dnspython types the secret as bytes; GSS-TSIG's is this
    key = dns.tsig.Key(keyname, secret, dns.tsig.GSS_TSIG)
    token = client.step(context, None, service)
    now = clock()
    answer = None
    for _ in range(MAX_ROUND_TRIPS):
        query = tkey.build_query(keyname, token or b"", int(now))
        keyring = _StepThenVerify(key, client, service)
        query.keyring = keyring  # the answer is verified with the new context: see _StepThenVerify
        answer = tkey.read_answer(exchange(target, query), keyname, target.where)
        if not keyring.stepped and not context.complete and answer.token:
            token = client.step(context, answer.token, service)
        if context.complete:
            break
    if not context.complete or answer is None:
        raise KerberosError(
            f"the GSS-TSIG key negotiation with {target.where} did not complete in {MAX_ROUND_TRIPS} round trips"
        )
    # a server that states no life in the future: the hour BIND gives at most; never past the ticket's
    expires = float(answer.expiration) if answer.expiration > now else now + tkey.ASKED_LIFETIME
    lifetime = client.remaining(context)
    if lifetime is not None and now + lifetime < expires:  # the ticket ends first: the next key needs a new one
        expires = now + lifetime
        client.fresh_tickets()
    return Negotiated(key, now, expires)
