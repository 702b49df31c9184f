"""This watcher's hold on its owner id: the lease (held before anything is removed) and ``--adopt-owner``.

A watcher built without a lease (``LeaseKeeper``; tests, read-only use)
holds its owner id unconditionally: every question here then says yes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dockernet.errors import DnsError, OwnerCollision
from dockernet.sync.adopt import adopt_owner
from dockernet.sync.journal import Journal
from dockernet.sync.leases import LeaseKeeper

if TYPE_CHECKING:
    from dockernet.ddns import Nameserver
    from dockernet.engine.interface import Engine
    from dockernet.sync.reconciler import Reconciler

log = logging.getLogger("dockernet")


class Ownership:
    """Claims, renews, confirms and releases the lease; adopts a renamed owner's names first when asked."""

    def __init__(
        self,
        lease: LeaseKeeper | None,
        nameserver: Nameserver,
        journal: Journal | None,
        ttl: int,
        engine: Engine,
        adopt: str | None = None,
        adopt_force: bool = False,
    ):
        self.lease = lease
        self.nameserver = nameserver
        self.journal = journal
        self.ttl = ttl
        self.engine = engine
        #: move this owner id's names to ours before the first reconcile (--adopt-owner)
        self.adopt = adopt
        #: adopt them even while that owner's watcher seems to run (dns sync --force)
        self.adopt_force = adopt_force

    def take(self, one_shot: bool = False) -> None:
        """Hold this owner id's lease, then adopt a renamed owner's names (--adopt-owner), before any reconcile.

        ``OwnerCollision`` propagates: another engine, or another running
        watcher, runs under this owner id. A one-shot run next to this
        engine's running watcher leaves the lease to it (``LeaseKeeper``).
        """
        if self.lease is not None:
            self.lease.hold(one_shot=one_shot)
        if self.adopt:
            old, journal = self.adopt, self.journal
            engine = self.lease.engine if self.lease is not None else self.engine.identity()[0]
            adopt_owner(
                self.nameserver,
                old,
                self.ttl,
                engine,
                journal_names=lambda: set(Journal(journal.directory, old).open(writable=False)) if journal else set(),
                here=self.lease.process if self.lease is not None else None,
                force=self.adopt_force,
            )

    def due_in(self) -> float | None:
        """Seconds until the lease should be renewed (None: there is no lease)."""
        return self.lease.due_in() if self.lease is not None else None

    def renew(self) -> None:
        """Claim or renew the lease; only ``OwnerCollision`` stops the watcher.

        Silence proves nothing, and a refusal of the key is reported by the
        update path: either way the lease is tried again a few seconds later.
        """
        if self.lease is None:
            return
        try:
            self.lease.hold()
        except DnsError as exc:
            log.debug("Lease not renewed now: %s", exc)
            self.lease.retry_later()

    def held(self) -> bool:
        return self.lease is None or self.lease.held

    def confirm(self) -> bool:
        """Whether the lease, read once more, is still this process's (``OwnerCollision``: another's now)."""
        return self.lease is None or self.lease.confirm()

    def release(self) -> None:
        """Mark the lease released, so every host sees at once that nobody holds this owner id."""
        if self.lease is not None:
            self.lease.release()

    def clean_up(self, reconciler: Reconciler) -> None:
        """--cleanup-on-exit: purge this owner's records, once the lease is confirmed as still this process's.

        A lease taken since the last renewal means the records under this
        owner id may be the new holder's: then nothing is removed.
        """
        try:
            if not self.confirm():
                log.error("Not removing this owner's records: this owner id's lease cannot be read now")
                return
        except OwnerCollision as exc:
            log.error("Not removing this owner's records: %s", exc)
            return
        log.info("Removing this owner's records before exit (--cleanup-on-exit)")
        if not reconciler.purge():
            log.error("Some records could not be removed (%d pending)", len(reconciler.pending))
