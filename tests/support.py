"""Shared fakes and builders of the test suite: one place, imported by the tests (never one test file from another).

* the in-memory zone, which applies RFC 2136 prerequisites as named would,
  a settable clock, and container and reconciler builders (unit tests);
* small helpers of the integration tests (``http_get`` for /healthz and
  /metrics, reverse names, a container's IPv6 address).
"""

import urllib.error
import urllib.request

import dns.name
import dns.reversename

from dockernet.ddns import DnsTarget, Nameserver, Outcome, Transfer
from dockernet.engine.model import ContainerInfo
from dockernet.errors import DnsTransient
from dockernet.publish.claims import RecordPolicy
from dockernet.publish.plan import Create, Delete, Owned
from dockernet.sync.reconciler import Reconciler

ZONE = dns.name.from_text("docker.test")


def name(label):
    return dns.name.from_text(f"{label}.docker.test")


class InMemoryZone:
    """Holds name -> Owned/Foreign and checks each change's prerequisite as named would."""

    def __init__(self, transfer_allowed=True):
        self.target = DnsTarget("127.0.0.1", 53, ZONE, None, "host-a")
        self.names = {}
        self.sent = []
        self.batches = []
        self.down = False
        self.transfer_allowed = transfer_allowed

    def send(self, change):
        if self.down:
            raise DnsTransient("no answer")
        self.sent.append(change)
        held = self.names.get(change.fqdn)
        if isinstance(change, Create):
            if held is not None:
                return Outcome.PREREQUISITE_FAILED
        elif not (isinstance(held, Owned) and held.short_id == change.old.short_id):
            return Outcome.PREREQUISITE_FAILED
        if isinstance(change, Delete):
            del self.names[change.fqdn]
        else:
            claim = change.claim
            self.names[change.fqdn] = Owned(claim.short_id, claim.records, claim.ttl)
        return Outcome.APPLIED

    def send_batch(self, batch):
        """All prerequisites hold, or nothing is applied (RFC 2136 section 3.2)."""
        changes = batch.changes
        if self.down:
            raise DnsTransient("no answer")
        self.batches.append(list(changes))
        snapshot = dict(self.names)
        sent = list(self.sent)
        for change in changes:
            if self.send(change) is Outcome.PREREQUISITE_FAILED:
                self.names, self.sent = snapshot, sent
                return Outcome.PREREQUISITE_FAILED
        self.sent = sent
        return Outcome.APPLIED

    # the real batching (zones, batch size, message size, stop at a lost batch) over this zone's send_batch
    apply_batched = Nameserver.apply_batched
    batches_of = Nameserver.batches_of

    def lookup(self, fqdn):
        if self.down:
            raise DnsTransient("no answer")
        return self.names.get(fqdn)

    def transfer(self, wanted=frozenset()):
        if self.down:
            raise DnsTransient("no answer")
        return Transfer(dict(self.names)) if self.transfer_allowed else Transfer(refused="answered REFUSED")


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def container(cid_char, hostname, address="10.1.0.2", running=True, created="2026-01-01"):
    return ContainerInfo(cid_char * 64, hostname, hostname, running, created, (address,))


def make_reconciler(zone=None, clock=None):
    zone = zone or InMemoryZone()
    clock = clock or Clock()
    return Reconciler(RecordPolicy(ZONE, 60), zone, clock=clock), zone, clock


def http_get(port, path):
    """(status, body) of a GET on the watcher's HTTP listener; an error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def ptr_name(address):
    return dns.reversename.from_address(address).to_text()


def ipv6_of(dockerd, container):
    container.reload()
    return container.attrs["NetworkSettings"]["Networks"]["bridge"]["GlobalIPv6Address"]


class FakeFiles:
    """``privileges.Files`` over a table: path -> the modes this user may use it with (absent: no such path)."""

    def __init__(self, allowed: dict, group: str = "docker", read_only: tuple[str, ...] = ()):
        self.allowed = allowed
        self.group = group
        self.read_only_paths = read_only

    def may(self, path, mode):
        if path not in self.allowed:
            return None
        return mode & self.allowed[path] == mode

    def group_of(self, path):
        return self.group

    def read_only(self, path):
        return path in self.read_only_paths
