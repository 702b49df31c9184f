"""Only what pyproject.toml cannot say: every file of examples/, in its tree, as the wheel's data files.

pip installs them under the installation prefix, in share/dockernet/examples (a venv's, pipx's,
/usr/local), where ``dockernet examples`` finds them. pyproject's ``[tool.setuptools.data-files]``
needs a row per directory and fails the build on a directory its glob meets (a systemd drop-in
directory), so a file or directory added to examples/ later would need an edit here; this needs none.
"""

from pathlib import Path

from setuptools import setup

#: what is never shipped, though it sits in examples/: a key or .env an operator put beside compose.yaml
SECRETS = ("*.key", "*.private", "*.pem", ".env")


def example_data_files() -> list[tuple[str, list[str]]]:
    """(target directory under the prefix, [files]) for each directory of examples/ that holds files."""
    rows: dict[str, list[str]] = {}
    for path in sorted(Path("examples").rglob("*")):
        if path.is_file() and not any(path.match(pattern) for pattern in SECRETS):
            rows.setdefault(str(Path("share", "dockernet", path.parent)), []).append(str(path))
    return list(rows.items())


setup(data_files=example_data_files())
