"""Inside dockernet's container image, the commands that need the host are refused in one line, before any work."""

import pytest

from dockernet.cli.hostonly import IMAGE_MARKER, NEEDS, refuse_in_image
from dockernet.errors import HostOnly
from tests.harness import run_cli

IN_IMAGE = {IMAGE_MARKER: "1", "DOCKER_HOST": "unix:///nonexistent/docker.sock"}

REFUSED = [
    (("netns", "show", "web1"), "dockernet netns"),
    (("netns", "addr", "web1", "10.1.0.9/16"), "dockernet netns"),
    (("bridge", "setup", "--cidr", "10.1.0.0/16", "--dry-run"), "dockernet bridge"),
    (("bridge", "show"), "dockernet bridge"),
    (("topology", "--zone", "docker.test", "--no-key"), "dockernet topology"),
    (("watch", "--zone", "docker.test", "--no-key", "--send-from", "container", "--once"), "--send-from container"),
    (("dns", "init", "--zone", "docker.test", "--dir", "/nonexistent/named"), "dockernet dns init"),
]


@pytest.mark.parametrize(("args", "named"), REFUSED, ids=lambda value: " ".join(value)[:40])
def test_a_host_only_command_is_refused_in_the_image_in_one_line(args, named):
    result = run_cli(*args, env=IN_IMAGE)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"dockernet: error: {named} ") and "container image" in line, line
    assert "on the host" in line


@pytest.mark.parametrize(("args", "named"), REFUSED, ids=lambda value: " ".join(value)[:40])
def test_the_same_command_outside_the_image_is_not_refused(args, named):
    # the engine socket does not exist: each command fails later, for that reason, never as host-only
    result = run_cli(*args, env={**IN_IMAGE, IMAGE_MARKER: "0"})
    assert "container image" not in result.stderr


def test_watch_sending_from_the_host_is_not_refused_in_the_image():
    # it gets as far as the engine, which does not answer
    result = run_cli("watch", "--zone", "docker.test", "--no-key", "--once", env=IN_IMAGE, timeout=60)
    assert result.returncode != 0 and "container image" not in result.stderr
    assert "Docker" in result.stderr or "docker" in result.stderr, result.stderr


@pytest.mark.parametrize("what", sorted(NEEDS))
def test_every_refusal_says_what_the_command_needs_and_what_to_do(what):
    with pytest.raises(HostOnly) as raised:
        refuse_in_image(what, environ={IMAGE_MARKER: "1"})
    assert NEEDS[what] in str(raised.value) and raised.value.exit_code == 2
    assert raised.value.hint and "host" in raised.value.hint


@pytest.mark.parametrize(
    "args", [("bridge", "setup", "--help"), ("netns", "show", "-h"), ("bridge", "--help"), ("dns", "init", "--help")]
)
def test_the_help_of_a_host_only_command_still_shows_in_the_image(args):
    result = run_cli(*args, env=IN_IMAGE)
    assert result.returncode == 0 and result.stdout.startswith("Usage: dockernet "), result.stderr
    assert "container image" not in result.stderr


def test_an_empty_marker_is_no_image():
    refuse_in_image("netns", environ={IMAGE_MARKER: ""})
    with pytest.raises(HostOnly):
        refuse_in_image("netns", environ={IMAGE_MARKER: "yes"})
