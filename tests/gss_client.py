"""A GSS-TSIG client (RFC 3645) of dnspython and gssapi, for the Samba bed's tests: one negotiated context kept
across commands, which nsupdate cannot do (each run negotiates anew).

Run inside the bed's network namespace with its KRB5_CONFIG and KRB5CCNAME
(``python -m tests.gss_client SERVER ZONE SERVICE_HOST``); reads one command a
line on stdin and answers each with one JSON line:

* ``negotiate``: a TKEY exchange; ``{"keyname": ...}``
* ``update NAME TYPE DATA``: an UPDATE adding the record, signed with the
  context; ``{"rcode", "tsig_error", "signed", "verifies_rfc", "verifies_without_length"}``:
  whether the response's MAC verifies over the request MAC with its length
  field (RFC 8945 4.3.1) or without it (what Samba signs).

The key name ends in ``.dnt-gss.``, never in the zone's name: dnspython
compresses a TSIG owner name against the zone's, and Samba refuses a
compressed one (BADSIG).
"""

from __future__ import annotations

import json
import secrets
import socket
import struct
import sys
import time

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TKEY
import dns.rrset
import dns.tsig
import dns.update


class Client:
    def __init__(self, server: str, zone: str, service_host: str):
        self.server = server
        self.zone = zone
        self.service_host = service_host
        self.context = None
        self.keyring: dict = {}
        self.keyname: dns.name.Name | None = None

    def negotiate(self) -> dict:
        import gssapi

        keyname = dns.name.from_text(f"{secrets.randbelow(10**9)}.dnt-gss.")
        target = gssapi.Name(f"DNS@{self.service_host}", gssapi.NameType.hostbased_service)
        flags = gssapi.RequirementFlag
        context = gssapi.SecurityContext(
            name=target,
            usage="initiate",
            flags=flags.mutual_authentication | flags.replay_detection | flags.integrity,
        )
        keyring = {keyname: dns.tsig.Key(keyname, context, dns.tsig.GSS_TSIG)}
        token = context.step()
        while True:
            now = int(time.time())
            tkey = dns.rdtypes.ANY.TKEY.TKEY(
                dns.rdataclass.ANY, dns.rdatatype.TKEY, dns.tsig.GSS_TSIG, now, now + 3600, 3, 0, token
            )
            query = dns.message.make_query(keyname, dns.rdatatype.TKEY, dns.rdataclass.ANY)
            query.additional.append(dns.rrset.from_rdata(keyname, 0, tkey))
            # the adapter steps the context with the answer's token before it checks the answer's signature
            query.keyring = dns.tsig.GSSTSigAdapter(keyring)
            answer = dns.query.tcp(query, self.server, timeout=10)
            if context.complete:
                break
            token = context.step(answer.answer[0][0].key)
        self.context, self.keyring, self.keyname = context, keyring, keyname
        return {"keyname": keyname.to_text()}

    def update(self, name: str, rdtype: str, data: str) -> dict:
        assert self.keyname is not None, "negotiate first"
        message = dns.update.UpdateMessage(
            self.zone,
            keyring=dns.tsig.GSSTSigAdapter(self.keyring),
            keyname=self.keyname,
            keyalgorithm=dns.tsig.GSS_TSIG,
        )
        message.add(name, 300, rdtype, data)
        wire = message.to_wire()
        response_wire = self._exchange(wire)
        response = dns.message.from_wire(response_wire, keyring=False)  # checked below, both ways
        result = {
            "rcode": dns.rcode.to_text(response.rcode()),
            "tsig_error": response.tsig_error if response.tsig else None,
            "signed": bool(response.tsig and response.tsig[0].mac),
        }
        if result["signed"]:
            request_mac = message.mac
            with_length = struct.pack("!H", len(request_mac)) + request_mac
            result["verifies_rfc"] = self._verifies(with_length, response_wire, response)
            result["verifies_without_length"] = self._verifies(request_mac, response_wire, response)
        return result

    def _verifies(self, prefix: bytes, wire: bytes, response: dns.message.Message) -> bool:
        """The response's MAC checked over ``prefix``, the response without its TSIG, and the TSIG variables."""
        assert self.keyname is not None and self.context is not None
        tsig = response.tsig[0]  # type: ignore[index]
        owner = self.keyname.canonicalize().to_wire()
        start = wire.rfind(owner)  # the response's TSIG owner name, written uncompressed
        body = bytearray(wire[:start])
        body[0:2] = struct.pack("!H", tsig.original_id)
        body[10:12] = struct.pack("!H", struct.unpack("!H", body[10:12])[0] - 1)
        variables = (
            owner
            + struct.pack("!HI", dns.rdataclass.ANY, 0)
            + tsig.algorithm.canonicalize().to_wire()
            + struct.pack("!HIHHH", 0, tsig.time_signed, tsig.fudge, tsig.error, len(tsig.other))
            + tsig.other
        )
        try:
            self.context.verify_signature(prefix + bytes(body) + variables, tsig.mac)
        except Exception:
            return False
        return True

    def _exchange(self, wire: bytes) -> bytes:
        with socket.create_connection((self.server, 53), timeout=10) as sock:
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            length = struct.unpack("!H", _read(sock, 2))[0]
            return _read(sock, length)


def _read(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def main() -> None:
    client = Client(*sys.argv[1:4])
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "negotiate":
                answer = client.negotiate()
            elif words[0] == "update":
                answer = client.update(words[1], words[2], " ".join(words[3:]))
            else:
                answer = {"error": f"unknown command {words[0]}"}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
