"""What ``bridge setup`` takes from the command line and writes into shell-sourced and ifupdown files.

Validation (``make_spec`` and the click types share its predicates) must
turn every value with a character that means something to a shell or ends
a line into a usage error; what a user wrote by hand in DOCKER_OPTS must be
read as sh reads it and written back so that sh (and bash) give the same
words again. The round trips run the real ``sh`` and ``bash``.
"""

from __future__ import annotations

import subprocess

import click
import pytest

from dockernet.cli.params import IFNAME, MTU, RESOLVER, SEARCH_DOMAIN
from dockernet.errors import ConfigError, UsageError
from dockernet.host.bridgeargs import make_spec
from dockernet.host.dockeropts import docker_opts, opts_assignments, rewrite_docker_opts, sh_quote
from dockernet.host.ifupdown import render_interfaces

SHELLS = ("sh", "bash")

#: what the issue names: command substitution both ways, both quotes, backslash, newline, ';', a variable
HOSTILE = [
    "$(touch {marker})",
    "`touch {marker}`",
    'a";touch {marker};"',
    "a';touch {marker};'",
    "a\\",
    "a\npre-up touch {marker}",
    "a;touch {marker}",
    "$HOME",
]


def hostile(marker="/tmp/x"):
    return [value.format(marker=marker) for value in HOSTILE]


# --- validation: nothing of the above gets through ---------------------------------------


@pytest.mark.parametrize("value", hostile())
@pytest.mark.parametrize("field", ["dns", "dns_search", "name", "cidr6", "gateway", "cidr"])
def test_hostile_values_are_usage_errors(field, value):
    arguments = {"name": "docker0", "cidr": "10.1.0.0/16"}
    if field in ("dns", "dns_search"):
        arguments[field] = ("10.1.0.53" if field == "dns" else "docker.test", value)
    elif field == "cidr6":
        arguments[field] = "fd00:1::%" + value + "/64"
    else:
        arguments[field] = value
    with pytest.raises(UsageError) as info:
        make_spec(**arguments)
    assert "\n" not in str(info.value)  # the value is escaped in the message


@pytest.mark.parametrize(
    "param, value",
    [(param, value) for param in (RESOLVER, SEARCH_DOMAIN, IFNAME) for value in hostile()]
    + [
        (RESOLVER, "fe80::1%eth0"),  # ipaddress takes a scope (and would keep '$(...)' in it); dockerd does not
        (RESOLVER, "fe80::1%$(touch /tmp/x)"),
        (RESOLVER, "resolver.example.com"),
        (RESOLVER, " 10.1.0.1"),
        (SEARCH_DOMAIN, "under_score.test"),  # dockerd's own rule refuses '_' (it would not start)
        (SEARCH_DOMAIN, "-a.test"),
        (SEARCH_DOMAIN, "a..test"),
        (SEARCH_DOMAIN, "10.1.0.1"),
        (SEARCH_DOMAIN, "x" * 64 + ".test"),
        (SEARCH_DOMAIN, ""),
        (IFNAME, "a-name-far-too-long"),
        (IFNAME, "-b"),
        (IFNAME, ".."),
        (IFNAME, "br0 "),
        (MTU, "67"),
        (MTU, "65536"),
        (MTU, "1400;touch /tmp/x"),
        (MTU, "1400\npre-up touch /tmp/x"),
    ],
)
def test_click_types_refuse(param, value):
    with pytest.raises(click.BadParameter) as info:
        param.convert(value, None, None)
    assert "\n" not in info.value.format_message()


@pytest.mark.parametrize(
    "param, value, expected",
    [
        (RESOLVER, "10.1.0.53", "10.1.0.53"),
        (RESOLVER, "2001:DB8::1", "2001:db8::1"),
        (SEARCH_DOMAIN, "docker.test", "docker.test"),
        (SEARCH_DOMAIN, "Docker.Test.", "Docker.Test"),  # one trailing dot is dropped, as dockerd drops it
        (SEARCH_DOMAIN, "x-1.example", "x-1.example"),
        (IFNAME, "docker0", "docker0"),
        (IFNAME, "br-lan.10", "br-lan.10"),
        (IFNAME, "br_0", "br_0"),
        (MTU, "1400", 1400),
    ],
)
def test_click_types_accept(param, value, expected):
    assert param.convert(value, None, None) == expected


# --- DOCKER_OPTS: read as sh reads it ---------------------------------------------------------


def sourced_words(text: str, tmp_path, shell: str) -> list[str]:
    """The arguments dockerd gets: ``. FILE`` in ``shell``, then ``$DOCKER_OPTS`` split (no globbing)."""
    path = tmp_path / "docker"
    path.write_text(text)
    result = subprocess.run(
        [shell, "-c", 'set -f; . "$1"; for word in $DOCKER_OPTS; do printf "%s\\0" "$word"; done', shell, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )
    return result.stdout.split("\0")[:-1]


#: hand-written DOCKER_OPTS lines that are valid sh, and the words dockerd gets from them
HAND_WRITTEN = [
    ('DOCKER_OPTS="-b=docker0 -dns 10.1.0.1"\n', ["-b=docker0", "-dns", "10.1.0.1"]),
    ("DOCKER_OPTS='--label a=\"b c\" --log-level=warn'\n", ["--label", 'a="b', 'c"', "--log-level=warn"]),
    (
        'export DOCKER_OPTS="--label=\\$(touch M) --label=\\`x\\` \\"q\\" back\\\\slash"\n',
        ["--label=$(touch", "M)", "--label=`x`", '"q"', "back\\slash"],
    ),
    (
        "DOCKER_OPTS='--label=$(touch M) `touch M` $HOME'  # a comment\n",
        ["--label=$(touch", "M)", "`touch", "M`", "$HOME"],
    ),
    ("DOCKER_OPTS=--iptables=false\\ --ip-masq=false\n", ["--iptables=false", "--ip-masq=false"]),
    ('DOCKER_OPTS="--dns 8.8.8.8\n  --log-level=warn"\n', ["--dns", "8.8.8.8", "--log-level=warn"]),
    ('DOCKER_OPTS="-b x"\nDOCKER_OPTS="$DOCKER_OPTS --dns=1.1.1.1"\n', ["-b", "x", "--dns=1.1.1.1"]),
    ('DOCKER_OPTS="${DOCKER_OPTS} -H fd:// cost=5$"\n', ["-H", "fd://", "cost=5$"]),
    ("  DOCKER_OPTS='it'\\''s' ; export DOCKER_OPTS\n", ["it's"]),
    ('#DOCKER_OPTS="--dns 8.8.8.8"\n', []),
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("text, words", HAND_WRITTEN)
def test_docker_opts_gives_the_words_a_shell_gives(text, words, shell, tmp_path):
    assert sourced_words(text, tmp_path, shell) == words  # the table itself is right
    assert docker_opts(text, "docker") == words
    assert not (tmp_path / "M").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ('DOCKER_OPTS="--dns 8.8.8.8\n', 'docker, line 1: DOCKER_OPTS has an unclosed " quote'),
        ("# defaults\nDOCKER_OPTS='--dns 8.8.8.8\n", "docker, line 2: DOCKER_OPTS has an unclosed ' quote"),
        ('DOCKER_OPTS="$(touch M)"\n', "docker, line 1: DOCKER_OPTS uses '$(touch M)\"', a shell expansion"),
        ("DOCKER_OPTS=`touch M`\n", "uses '`touch M`', a shell expansion"),
        ('DOCKER_OPTS="--dns $RESOLVER"\n', "uses '$RESOLVER\"', a shell expansion"),
        ('DOCKER_OPTS="--dns ${RESOLVER:-1.1.1.1}"\n', "a shell expansion"),
        ("DOCKER_OPTS=$'--dns\\t1.1.1.1'\n", "a shell expansion"),  # bash's $'...' is no quote to dash
    ],
)
def test_a_docker_opts_dockernet_cannot_read_is_one_line_naming_the_file(text, message):
    with pytest.raises(ConfigError) as info:
        docker_opts(text, "docker")
    assert message in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError):
        rewrite_docker_opts(text, make_spec("docker0", "10.1.0.0/16"), path="docker")


# --- DOCKER_OPTS: written so that sh reads back what was meant ---------------------------------


#: values a kept, hand-written word may carry (ours never do: they are validated)
QUOTED = hostile("M") + ["plain --words=1", "it's", 'say "hi"', "a'b\"c$d`e\\f", "", "#not-a-comment", "tab\there"]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("like", ['"', "'"])
@pytest.mark.parametrize("value", QUOTED)
def test_sh_quote_round_trips_through_the_shell_and_the_reader(value, like, shell, tmp_path):
    text = f"DOCKER_OPTS={sh_quote(value, like)}\n"
    (tmp_path / "docker").write_text(text)
    printed = subprocess.run(
        [shell, "-c", '. "$1"; printf "%s" "$DOCKER_OPTS"', shell, str(tmp_path / "docker")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert printed.returncode == 0 and printed.stdout == value, text
    assert opts_assignments(text)[-1].value == value
    assert not (tmp_path / "M").exists()


SPEC = make_spec("docker0", "10.1.0.0/16", dns=("10.1.0.53",), dns_search=("docker.test",))
OURS = ["--bip=10.1.0.1/16", "--dns=10.1.0.53", "--dns-search=docker.test"]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("text, words", HAND_WRITTEN)
def test_a_hand_written_docker_opts_keeps_its_words_and_gains_ours(text, words, shell, tmp_path):
    owned = {"-b", "-b=docker0", "-dns", "--dns", "--dns=1.1.1.1"}
    kept = [w for i, w in enumerate(words) if w not in owned and not (i and words[i - 1] in ("-b", "-dns", "--dns"))]
    after = rewrite_docker_opts(text, SPEC, path="docker")
    assert sourced_words(after, tmp_path, shell) == kept + OURS
    assert docker_opts(after) == kept + OURS  # and what was written parses back to the same arguments
    assert rewrite_docker_opts(after, SPEC) == after
    assert not (tmp_path / "M").exists()
    # only the value of the last assignment changed: every line before it is as the user wrote it
    last = opts_assignments(text)[-1] if opts_assignments(text) else None
    if last is not None:
        assert after.startswith(text[: last.start]) and after.endswith(text[last.end :])


def test_a_new_docker_opts_line_sources_to_our_words(tmp_path):
    after = rewrite_docker_opts("# Docker defaults\n", SPEC)
    for shell in SHELLS:
        assert sourced_words(after, tmp_path, shell) == OURS


# --- the ifupdown stanza ---------------------------------------------------------------------


STANZA_OPTIONS = (
    "auto",
    "iface",
    "bridge_ports",
    "bridge_fd",
    "bridge_stp",
    "address",
    "netmask",
    "mtu",
    "dns-nameservers",
    "dns-search",
)


@pytest.mark.parametrize(
    "cidr, header",
    [
        ("10.1.0.0/16", "--cidr 10.1.0.0/16"),
        ("10.1.0.1/255.255.0.0", "--cidr 10.1.0.1/16"),
    ],
)
def test_the_stanza_holds_only_its_own_options(cidr, header):
    spec = make_spec(
        "br-lan.10",
        cidr,
        mtu=1400,
        dns=("10.1.0.53", "2001:db8::53"),
        dns_search=("a.test", "b.test."),
        cidr6="fd00:1::/64",
    )
    lines = render_interfaces(spec, cidr).splitlines()
    assert lines[0] == f"# written by dockernet bridge setup {header}"
    assert all(line.split()[0] in STANZA_OPTIONS for line in lines[1:])
    assert "    dns-search a.test b.test" in lines
