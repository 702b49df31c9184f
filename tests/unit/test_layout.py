"""The packages depend on each other in one direction only: the pipeline's, as docs/architecture.md draws it.

A module that reaches the wrong way (the pure plan importing the provider, the
books of ``sync`` importing the watch loop, anything importing the CLI) fails
here, with the import that does it, before the layers grow into each other.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "dockernet"
SHARED = {"errors", "logformat", "atomicfile", "pidfile", "__init__"}

#: what each part may import besides itself and the shared modules (imports inside functions count too)
ALLOWED = {
    "engine": set(),
    "publish": {"engine"},
    "rfc2136": {"publish", "ddns"},
    "ddns": {"publish", "rfc2136"},
    "metrics": {"engine"},
    "kerberos": {"rfc2136"},
    "auth": {"rfc2136", "kerberos"},
    "sync": {"engine", "publish", "rfc2136", "ddns", "metrics"},
    "watch": {"engine", "publish", "rfc2136", "ddns", "metrics", "sync"},
    "bridge": set(),
    "netns": {"bridge", "engine", "host"},
    "host": {"bridge", "netns", "engine", "publish", "rfc2136", "ddns", "sync", "runtime", "kerberos"},
    "runtime": {"bridge", "engine", "publish", "rfc2136", "ddns", "metrics", "sync", "watch", "auth"},
    "cli": None,  # the edge: it may import anything
    "__main__": {"cli"},
}


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else relative[0].removesuffix(".py")


def imports(path: Path):
    """(line, part) for every dockernet module the file imports, wherever the import statement is."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dockernet":
            parts = node.module.split(".")
            if len(parts) > 1:
                yield node.lineno, parts[1]
            else:  # from dockernet import errors, __version__
                for alias in node.names:
                    yield node.lineno, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "dockernet" and len(parts) > 1:
                    yield node.lineno, parts[1]


def test_every_part_is_in_the_table():
    parts = {part_of(path) for path in PACKAGE.rglob("*.py")} - SHARED
    assert parts == set(ALLOWED), "a new package or top-level module: give it a row in ALLOWED"


def test_imports_follow_the_pipeline():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = part_of(path)
        allowed = ALLOWED.get(part, set())
        if allowed is None:
            continue
        for line, target in imports(path):
            if target in SHARED or target == "__version__" or target == part:
                continue
            if part in SHARED or target not in allowed:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports dockernet.{target}")
    assert wrong == []


def test_the_check_sees_a_wrong_import(tmp_path):
    """The scanner itself: an import inside a function, of the CLI, is found."""
    module = tmp_path / "example.py"
    module.write_text("def f():\n    from dockernet.cli.root import main\n    import dockernet.watch.watcher\n")
    assert list(imports(module)) == [(2, "cli"), (3, "watch")]
