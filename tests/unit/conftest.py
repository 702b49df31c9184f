"""Fixtures over the shared fakes of tests/support.py: the in-memory zone, the test's clock, a reconciler on both."""

import pytest

from dockernet.sync.reconciler import Reconciler
from tests.support import Clock, InMemoryZone


@pytest.fixture
def clock():
    """A clock that stands still until the test moves ``clock.now``."""
    return Clock()


@pytest.fixture
def zone():
    """A zone in memory that answers like a server (transfers, prerequisites, refusals the test sets)."""
    return InMemoryZone()


@pytest.fixture
def reconciler_for(zone, clock):
    """``reconciler_for(policy)``: a Reconciler of that policy over the ``zone`` fixture and the ``clock`` fixture."""

    def build(policy, **parts):
        return Reconciler(policy, zone, clock=clock, **parts)

    return build
