"""What the watcher knows of the DNS server between updates: probes, /healthz, looks that got no answer, SIGHUP's key.

A probe is an UPDATE whose prerequisite cannot hold, so it changes nothing;
it tells a key the server refuses from a server that does not answer. The
update path reports its own failures (``Reconciler``); this keeps /healthz
truthful while the watcher is idle and says each change of state once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from dockernet.errors import DnsError, DnsTransient, DockernetError
from dockernet.metrics import Health

if TYPE_CHECKING:
    from dockernet.ddns import Nameserver
    from dockernet.rfc2136.signer import Signer

log = logging.getLogger("dockernet")


class DnsHealth:
    """Probes the nameserver, keeps ``Health`` up to date, and swaps in a re-read key the server accepts."""

    def __init__(self, nameserver: Nameserver, health: Health, reload_key: Callable[[], Signer] | None = None):
        self.nameserver = nameserver
        self.health = health
        #: re-reads the key on SIGHUP (None: updates are not signed)
        self.reload_key = reload_key
        #: the last probe's error ("" when it passed): logged once per state change, not once per probe
        self._probe_error = ""
        #: the last look at names held by others got no answer (said once, not per look)
        self._blocked_unanswered = False

    def probe(self) -> None:
        """Raise what the server says of this key and zone (``DnsTransient``: no answer)."""
        self.nameserver.probe()

    def check_at_start(self) -> None:
        """The start-up probe: a key or zone the server rejects stops the watcher before it runs."""
        self.nameserver.probe()
        self.health.dns_reached()

    def probe_due(self, now: float) -> bool:
        return self.health.dns_probe_due(now)

    def probe_idle(self) -> None:
        """Keep /healthz truthful while idle: one UPDATE probe that changes nothing."""
        try:
            self.nameserver.probe()
        except DnsTransient:
            self.health.dns_failed()
        except DockernetError as exc:
            self.health.dns_failed()
            if str(exc) != self._probe_error:  # one line per state change, not one per probe
                log.error("%s", exc)
                self._probe_error = str(exc)
        else:
            self.health.dns_reached()
            if self._probe_error:
                log.info("The DNS server accepts this key again")
                self._probe_error = ""

    def look_at_blocked(self, check: Callable[[], object]) -> None:
        """Run ``check`` (``Reconciler.check_blocked``); a server that does not answer is said once, not per look.

        The next look comes later; an outage is reported by the update path.
        """
        try:
            check()
        except DnsError as exc:
            log.log(
                logging.DEBUG if self._blocked_unanswered else logging.WARNING,
                "Cannot look at names held by others now: %s",
                exc,
            )
            self._blocked_unanswered = True
        else:
            self._blocked_unanswered = False

    def rekey(self) -> None:
        """SIGHUP: sign with the re-read key only once the server accepted it, as start-up does.

        A well-formed file with a wrong secret would otherwise turn every
        later update into BADSIG; the old key keeps working meanwhile.
        """
        if self.reload_key is None:
            return
        try:
            key = self.reload_key()
        except DockernetError as exc:
            log.error("Keeping the old key: %s", exc)
            return
        trial = self.nameserver.with_key(key)
        try:
            trial.probe()
        except DnsTransient as exc:
            log.error("Keeping the old key: the new %s cannot be checked now (%s); send SIGHUP again", key, exc)
            return
        except DockernetError as exc:
            log.error("Keeping the old key: the server does not accept the new %s: %s", key, exc)
            return
        self.nameserver.rekey(key)  # in place: the reconciler and the lease keeper sign with it
        log.info("Now signing with %s", key)
