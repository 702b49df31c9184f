"""One error taxonomy: every failure a user can meet is a named class whose docstring is its message."""

import inspect

import pytest

from dockernet import errors
from dockernet.bridge import CreateBridge, SetUp, apply_steps
from dockernet.errors import DnsNotAuthoritative, DnsNotZone, DnsRefused, DockernetError, LinkVanished

CLASSES = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, Exception)]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_is_a_dockernet_error_that_says_something(cls):
    assert issubclass(cls, DockernetError)
    assert str(cls()) == inspect.cleandoc(cls.__doc__) and str(cls())


@pytest.mark.parametrize(
    "cls, code", [(DnsRefused, "REFUSED"), (DnsNotAuthoritative, "NOTAUTH"), (DnsNotZone, "NOTZONE")]
)
def test_dns_verdicts_are_classes_that_carry_their_rcode(cls, code):
    assert cls("x").code == code


def test_the_hint_follows_the_message():
    assert str(DockernetError("cannot do it", hint="do this instead")) == "cannot do it: do this instead"


class VanishingLinks:
    """A netlink socket on which the link the plan named is gone."""

    def link_lookup(self, ifname):
        return []

    def link(self, *args, **kwargs):
        pass


def test_a_link_that_vanishes_mid_apply_is_one_clear_error_not_an_index_error():
    with pytest.raises(LinkVanished, match="docker0 disappeared before dockernet could"):
        apply_steps(VanishingLinks(), [CreateBridge("docker0"), SetUp("docker0")])
