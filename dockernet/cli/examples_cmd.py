"""``dockernet examples``: where this install keeps the example files (systemd, monit, Grafana, interfaces.d).

A wheel installs them as data files under its installation prefix, in
``share/dockernet/examples`` (a venv's, pipx's, ``/usr/local``): setup.py's
data files. An editable install, or a checkout run with
PYTHONPATH, has none there and uses the checkout's ``examples/``. The look-up
is a pure function of those places; the command gathers them and prints.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

import click

#: where the wheel's data files put the examples, under an installation prefix
INSTALLED = Path("share", "dockernet", "examples")


def examples_dir(prefixes: Sequence[Path], checkout: Path) -> Path | None:
    """The examples of the first prefix that has them installed, else the checkout's examples/, else None.

    ``checkout`` is the directory above the imported ``dockernet`` package: a
    source tree when it holds pyproject.toml, a site-packages directory (with
    no examples of ours) after a wheel install.
    """
    for prefix in prefixes:
        if (prefix / INSTALLED).is_dir():
            return prefix / INSTALLED
    if (checkout / "pyproject.toml").is_file() and (checkout / "examples").is_dir():
        return checkout / "examples"
    return None


def example_files(directory: Path) -> list[Path]:
    """Every file under the examples directory, sorted, for ``--list``."""
    return sorted(path for path in directory.rglob("*") if path.is_file())


@click.command()
@click.option("--list", "as_list", is_flag=True, help="Print the path of every example file instead of the directory.")
def examples(as_list: bool) -> None:
    """Print where this install keeps the examples: the systemd unit, the monit check, the Grafana dashboard.

    A wheel (pip or pipx) installs them under its prefix, in
    share/dockernet/examples; run from a checkout, they are its examples/.
    """
    import dockernet

    # this interpreter's prefix (a venv, pipx's venv), and its scheme's data path (/usr/local beside /usr)
    prefixes = [Path(path) for path in dict.fromkeys([sys.prefix, sysconfig.get_path("data")])]
    checkout = Path(dockernet.__file__).resolve().parent.parent
    found = examples_dir(prefixes, checkout)
    if found is None:
        where = " or ".join(str(prefix / INSTALLED) for prefix in prefixes)
        raise click.ClickException(f"no examples in {where}, nor a checkout at {checkout}: reinstall from the wheel")
    for path in example_files(found) if as_list else [found]:
        click.echo(path)
