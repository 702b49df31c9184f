"""The TKEY exchange of GSS-TSIG (RFC 3645 section 4, RFC 2930 mode 3), as messages: built and read, no I/O.

The client sends its GSS-API token in a TKEY record under a key name of its
own choosing; the server answers with its token in a TKEY record (signed
with the new context once that is complete) and the key's expiration. The
query goes in the additional section and the question asks for the key
name's TKEY, as ``nsupdate -g`` sends it; BIND, Samba and Windows read it so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TKEY
import dns.rrset
import dns.tsig

from dockernet.errors import DnsTransient, KerberosError

#: RFC 2930 section 2.5: mode 3 is GSS-API negotiation
GSSAPI_MODE = 3
#: what the key's lifetime is asked to be; the server decides (BIND: at most an hour, and not past the ticket)
ASKED_LIFETIME = 3600

#: TKEY error field values (RFC 2930 section 2.6, RFC 8945), for messages
_TKEY_ERRORS = {16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG"}


def new_key_name() -> dns.name.Name:
    """A key name no other negotiation uses: the server keeps keys by name."""
    return dns.name.from_text(f"{secrets.token_hex(8)}.sig-dockernet.")


def build_query(keyname: dns.name.Name, token: bytes, now: int, lifetime: int = ASKED_LIFETIME) -> dns.message.Message:
    """The TKEY query carrying the client's GSS-API ``token``: unsigned, there is no key yet."""
    query = dns.message.make_query(keyname, dns.rdatatype.TKEY, dns.rdataclass.ANY)
    rdata = dns.rdtypes.ANY.TKEY.TKEY(
        dns.rdataclass.ANY,
        dns.rdatatype.TKEY,
        dns.tsig.GSS_TSIG,
        now,
        now + lifetime,
        GSSAPI_MODE,
        0,
        token,
    )
    rrset = dns.rrset.from_rdata(keyname, 0, rdata)
    query.additional.append(rrset)
    return query


@dataclass(frozen=True)
class TkeyAnswer:
    """What the server's TKEY answer says: its token (empty when it has none to send) and the key's life."""

    token: bytes
    inception: int
    expiration: int


def read_answer(response: dns.message.Message, keyname: dns.name.Name, where: str) -> TkeyAnswer:
    """The server's token and key lifetime from its answer to ``build_query``; raises what a refusal means."""
    rcode = response.rcode()
    if rcode == dns.rcode.SERVFAIL:
        raise DnsTransient(f"{where} failed to answer the GSS-TSIG key negotiation (SERVFAIL)")
    if rcode != dns.rcode.NOERROR:
        name = dns.rcode.to_text(rcode)
        if rcode in (dns.rcode.NOTIMP, dns.rcode.FORMERR):
            hint = "it does not take GSS-TSIG: BIND needs tkey-gssapi-keytab in its options"
        else:
            hint = "it does not negotiate GSS-TSIG keys with this host"
        raise KerberosError(f"{where} answered {name} to the GSS-TSIG key negotiation (TKEY)", hint=hint)
    rrset = response.get_rrset(response.answer, keyname, dns.rdataclass.ANY, dns.rdatatype.TKEY)
    if not rrset:
        raise KerberosError(
            f"{where} answered the GSS-TSIG key negotiation (TKEY) without a TKEY record",
            hint="it does not take GSS-TSIG",
        )
    tkey = rrset[0]
    if tkey.error == 18:  # BADTIME
        raise KerberosError(
            f"{where} refused the GSS-TSIG key negotiation for the time (BADTIME)",
            hint="this host's clock and the server's differ: synchronise them (NTP)",
        )
    if tkey.error:
        error = _TKEY_ERRORS.get(tkey.error, str(tkey.error))
        raise KerberosError(
            f"{where} did not accept the Kerberos ticket in the GSS-TSIG key negotiation ({error})",
            hint="the server's keytab has no current key for the service principal the ticket is for "
            "(named's tkey-gssapi-keytab; for Active Directory, the DC's DNS/<its name> service principal)",
        )
    if tkey.mode != GSSAPI_MODE:
        raise KerberosError(f"{where} answered the TKEY negotiation in mode {tkey.mode}, not GSS-API")
    return TkeyAnswer(bytes(tkey.key), tkey.inception, tkey.expiration)
