"""The commands the docs show, read out of README.md and docs/*.md for the docs checks.

Conventions the docs follow (docs/development.md says them to writers):

* a fenced block tagged ``sh`` holds commands a reader types; any other
  fence (no tag, ``text``, ``yaml``) holds synopses, output or files;
* the README's tour is the first ``sh`` block under ``## A five-minute
  tour``; every page of docs/ opens with its first example, its first ``sh``
  block: these run for real (tests/integration/test_docs.py);
* every line that runs ``dockernet`` (in any block) must parse against the
  real command line: a synopsis (``[--opt X]``, ``A|B``, ``...``) only has its
  option names checked (tests/unit/test_docs.py).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOUR_HEADING = "## A five-minute tour"


@dataclass(frozen=True)
class Block:
    """One fenced block: its tag, the file and line it starts on, and its lines."""

    path: Path
    line: int
    tag: str
    lines: tuple[str, ...]

    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


@dataclass(frozen=True)
class ShownCommand:
    """One ``dockernet`` invocation shown in the docs: its words after ``dockernet``, and whether it is a synopsis."""

    where: str
    text: str
    words: tuple[str, ...]
    synopsis: bool
    env: tuple[tuple[str, str], ...] = ()  # VAR=value words before ``dockernet``


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    tag, start, lines = None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            if tag is None:
                tag, start, lines = line[3:].strip(), number, []
            else:
                found.append(Block(path, start, tag, tuple(lines)))
                tag = None
        elif tag is not None:
            lines.append(line)
    return found


def first_example(path: Path) -> Block:
    """The README's tour, or a docs page's first ``sh`` block."""
    text = path.read_text()
    skip_lines = 0
    if path.name == "README.md":
        assert TOUR_HEADING in text, f"README.md has no '{TOUR_HEADING}'"
        skip_lines = text[: text.index(TOUR_HEADING)].count("\n") + 1
    examples = [block for block in blocks(path) if block.tag == "sh" and block.line > skip_lines]
    assert examples, f"{path.relative_to(REPO)} shows no sh example"
    return examples[0]


def example_lines(block: Block) -> list[str]:
    """The commands of a block, one per line, with comments and blank lines dropped."""
    return [command for command in map(strip_comment, block.lines) if command.strip()]


def strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` inside quotes stays)."""
    in_quote = None
    for index, char in enumerate(line):
        if in_quote:
            in_quote = None if char == in_quote else in_quote
        elif char in "'\"":
            in_quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


_SEGMENT_SPLIT = re.compile(r"\|\||&&|[|;>]")
_SYNOPSIS = re.compile(r"[\[\]]|\.\.\.|\bOPTIONS\b|\bCOMMAND\b|[A-Za-z0-9]\|[A-Za-z-]")


def _invocations(line: str, shell: bool) -> list[tuple[tuple[tuple[str, str], ...], list[str]]]:
    """Each ``dockernet ...`` in one line: after env assignments or sudo, inside ``$( )``, before a pipe (in ``sh``)."""
    texts = [strip_comment(line.removeprefix("$ "))]
    texts += re.findall(r"\$\((dockernet[^)]*)\)", line)
    found = []
    for text in texts:
        for segment in _SEGMENT_SPLIT.split(text) if shell else [text]:
            try:
                words = shlex.split(segment) if shell else segment.split()
            except ValueError:
                continue
            env = []
            while words and (re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]) or words[0] in ("sudo", "exec")):
                word = words.pop(0)
                if "=" in word:
                    env.append(tuple(word.split("=", 1)))
            if words and (words[0] == "dockernet" or words[0].endswith("/dockernet")):
                found.append((tuple(env), words[1:]))
    return found


def shown_commands() -> list[ShownCommand]:
    """Every ``dockernet`` invocation in a fenced block of the README or docs/, with its synopsis lines joined."""
    shown = []
    for path in pages():
        for block in blocks(path):
            current: ShownCommand | None = None
            indented: list[tuple[int, tuple[str, ...]]] = []  # the synopsis's indented lines so far: (indent, words)
            for offset, line in enumerate(block.lines, 1):
                where = f"{block.where()}+{offset}"
                indent = len(line) - len(line.lstrip())
                if block.tag != "sh" and current is not None and indent:
                    # a synopsis goes on, indented: the group's next subcommand, or (indented deeper) more options
                    while indented and indented[-1][0] >= indent:
                        indented.pop()
                    words = (indented[-1][1] if indented else current.words) + tuple(line.split())
                    indented.append((indent, words))
                    shown.append(ShownCommand(where, line.strip(), words, True))
                    continue
                current, indented = None, []
                for env, words in _invocations(line, shell=block.tag == "sh"):
                    synopsis = block.tag != "sh" and bool(_SYNOPSIS.search(line))
                    current = ShownCommand(where, line.strip(), tuple(words), synopsis, env)
                    shown.append(current)
    return shown


def inline_commands() -> list[ShownCommand]:
    """``dockernet ...`` in inline code spans of the prose: checked as synopses (option names only)."""
    shown = []
    for path in pages():
        fence = False
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.startswith("```"):
                fence = not fence
                continue
            if fence:
                continue
            for span in re.findall(r"`(dockernet [^`]+)`", line):
                shown.append(ShownCommand(f"{path.relative_to(REPO)}:{number}", span, tuple(span.split()[1:]), True))
    return shown


def option_table(path: Path) -> list[str]:
    """The option names in the first column of a page's option table (``| `--server` | ...``)."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        if line.startswith("| `-"):
            names.update(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", line.split("|")[1]))
    return sorted(names)
