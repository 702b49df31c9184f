"""Where ``dockernet examples`` finds the example files: an installed prefix first, else a checkout, else nowhere."""

import pytest

from dockernet.cli.examples_cmd import INSTALLED, example_files, examples_dir
from tests.harness import run_cli

#: (directories made under tmp_path, the prefixes given, the checkout given, what is found; None: nothing)
CASES = [
    # a wheel in a venv or pipx's venv: the prefix's share/dockernet/examples
    ([f"venv/{INSTALLED}"], ["venv"], "venv/lib/python3.11/site-packages", f"venv/{INSTALLED}"),
    # the interpreter's prefix has none, the scheme's data path has them (/usr beside /usr/local)
    ([f"local/{INSTALLED}"], ["usr", "local"], "local/lib/python3/dist-packages", f"local/{INSTALLED}"),
    # the first prefix wins over a later one and over a checkout
    ([f"a/{INSTALLED}", f"b/{INSTALLED}", "src/examples", "src/pyproject.toml"], ["a", "b"], "src", f"a/{INSTALLED}"),
    # an editable install or PYTHONPATH: no data files in the prefix, the checkout's examples/
    (["src/examples", "src/pyproject.toml", "venv"], ["venv"], "src", "src/examples"),
    # an examples/ beside the package that is not a checkout (another project's, in site-packages): not ours
    (["venv/lib/site-packages/examples"], ["venv"], "venv/lib/site-packages", None),
    # a checkout without its examples/, and a prefix without them: nowhere
    (["src/pyproject.toml", "venv"], ["venv"], "src", None),
]


def make(root, paths):
    for path in paths:
        target = root / path
        if target.name == "pyproject.toml":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("[project]\n")
        else:
            target.mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize(("made", "prefixes", "checkout", "found"), CASES)
def test_examples_dir_prefers_an_installed_prefix_then_the_checkout(tmp_path, made, prefixes, checkout, found):
    make(tmp_path, made)
    result = examples_dir([tmp_path / prefix for prefix in prefixes], tmp_path / checkout)
    assert result == (tmp_path / found if found else None)


def test_example_files_lists_files_only_sorted(tmp_path):
    (tmp_path / "systemd").mkdir()
    (tmp_path / "systemd" / "b.service").write_text("")
    (tmp_path / "grafana").mkdir()
    (tmp_path / "grafana" / "a.json").write_text("")
    assert example_files(tmp_path) == [tmp_path / "grafana" / "a.json", tmp_path / "systemd" / "b.service"]


def test_from_this_checkout_the_command_prints_its_examples_dir():
    listed = run_cli("examples", "--list")
    assert listed.returncode == 0, listed.stderr
    assert any(line.endswith("examples/systemd/dockernet-watch.service") for line in listed.stdout.splitlines())
    assert any(line.endswith("examples/grafana/dockernet.json") for line in listed.stdout.splitlines())
