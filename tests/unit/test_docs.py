"""Every ``dockernet`` command the README and docs/ show parses against the real command line.

A full command line is parsed by click as the CLI would (no callback runs);
a synopsis only has its option names checked. So a renamed or removed
option or subcommand breaks this test, not a reader. The commands that run
for real are in tests/integration/test_docs.py.
"""

from __future__ import annotations

import os
import re

import click
import pytest

from dockernet.cli.root import cli
from tests.docblocks import REPO, ShownCommand, first_example, inline_commands, option_table, pages, shown_commands

# what the root group or a command reads from the environment: parsing must not depend on this host's settings
ENVIRONMENT = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "NET_NS", "NET_DOMAIN", "DDNS_KEY", "DOCKER_PID")


def _id(command: ShownCommand) -> str:
    return f"{command.where} {' '.join(command.words)[:60]}"


def option_names(command: click.Command) -> set[str]:
    return {
        name
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def parse(words: tuple[str, ...]) -> list[click.Command]:
    """Parse a whole command line down to its leaf command, as ``dockernet`` would; the chain of commands."""
    chain: list[click.Command] = [cli]
    try:
        ctx = cli.make_context("dockernet", list(words))
        while isinstance(ctx.command, click.Group):
            # the words before the subcommand's: ``protected_args`` until click 8.2 renamed it
            protected = ctx._protected_args if hasattr(ctx, "_protected_args") else ctx.protected_args
            name, command, rest = ctx.command.resolve_command(ctx, [*protected, *ctx.args])
            assert command is not None
            chain.append(command)
            ctx = command.make_context(name, rest, parent=ctx)
    except click.exceptions.Exit as done:  # --help, --version
        assert done.exit_code == 0
    return chain


def resolve_synopsis(words: tuple[str, ...]) -> list[click.Command]:
    """The chain of commands a synopsis names: its words that are subcommands (``add|del``: the first)."""
    chain: list[click.Command] = [cli]
    for word in words:
        group = chain[-1]
        name = word.split("|")[0]
        command = group.get_command(click.Context(group), name) if isinstance(group, click.Group) else None
        if command is not None:
            chain.append(command)
    return chain


@pytest.fixture(autouse=True)
def no_settings_from_this_host(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("DOCKERNET_"):
            monkeypatch.delenv(name)


COMMANDS = shown_commands()


@pytest.mark.parametrize("command", [c for c in COMMANDS if not c.synopsis], ids=_id)
def test_every_command_shown_parses(command, monkeypatch):
    for name, value in command.env:
        monkeypatch.setenv(name, value)
    chain = parse(command.words)
    assert len(chain) > 1 or command.words[:1] in (("--help",), ("--version",)), f"{command.where}: no subcommand"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.synopsis] + inline_commands(), ids=_id)
def test_every_synopsis_names_real_subcommands_and_options(command):
    chain = resolve_synopsis(command.words)
    known = set().union(*(option_names(c) for c in chain))
    shown = set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", " ".join(command.words)))
    unknown = shown - known
    named = " ".join(c.name or "dockernet" for c in chain)
    assert not unknown, f"{command.where}: `{named}` has no {sorted(unknown)}"
    words_that_look_like_commands = [w for w in command.words[:3] if re.fullmatch(r"[a-z]+", w)]
    assert len(chain) > len(words_that_look_like_commands) or not words_that_look_like_commands, (
        f"{command.where}: {words_that_look_like_commands} are not all subcommands of {named}"
    )


def test_the_watch_option_table_is_the_watch_command():
    """docs/watch.md's table lists every option of ``watch`` (and the root group's), and nothing else."""
    watch = cli.commands["watch"]
    real = (option_names(watch) | option_names(cli)) - {"--help", "-h", "--version"}
    table = set(option_table(REPO / "docs" / "watch.md"))
    assert table == real, f"only in the table: {sorted(table - real)}; only in the CLI: {sorted(real - table)}"


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_every_page_opens_with_an_example(page):
    """The example the integration check runs is there (a page with none would silently run nothing)."""
    assert first_example(page).lines


def test_the_readme_still_starts_with_the_two_set_up_commands():
    """.ci/run runs 'the README's test command': the README opens with exactly these two."""
    text = (REPO / "README.md").read_text()
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert text.startswith("# dockernet\n\n```sh\n")
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["bash scripts/quickstart", "bash scripts/test"]
    assert len(text.splitlines()) <= 300
