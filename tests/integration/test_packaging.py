"""The sdist and wheel built from a clean clone, as a package index and an operator would take them.

``python -m build --no-isolation`` (the setuptools of the test extra: no index needed to build) makes
both, the wheel from the sdist; ``twine check --strict`` accepts them; the sdist holds the source, docs,
examples, scripts and tests; the wheel holds every package and every example. Installed into an empty
venv, and with pipx by the README's own lines, it runs and ``dockernet examples`` finds its files.
Installing the wheel fetches its dependencies from the configured package index: the one step here
that needs it (and the README's way to build, with pipx).
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.docblocks import blocks, example_lines
from tests.harness import need

REPO = Path(__file__).resolve().parents[2]
PIPX_HEADING = "### With pipx, from a wheel"
#: the examples an operator reaches for first, which every install must have
KEY_EXAMPLES = ("systemd/dockernet-watch.service", "grafana/dockernet.json")
#: generous: installing the wheel's dependencies goes to the package index
INSTALL_TIMEOUT = 600


def clean_clone(dest: Path) -> Path:
    need("git")
    subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True)
    return dest


def tracked(clone: Path, *under: str) -> list[str]:
    """The files git tracks in the clone (under the given directories): what a release is made of."""
    listed = subprocess.run(["git", "-C", str(clone), "ls-files", *under], capture_output=True, text=True, check=True)
    return listed.stdout.split()


def outside_env(**extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH: the installed dockernet must run from its install, not this tree."""
    return {**{name: value for name, value in os.environ.items() if name != "PYTHONPATH"}, **extra}


def run(*args, timeout: float = 120, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    argv = [str(arg) for arg in args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env or outside_env(), **kwargs)


#: what an operator may leave beside compose.yaml, which no release may carry
PLANTED_SECRETS = ("examples/compose/ddns.key", "examples/compose/.env")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    clone = clean_clone(tmp_path_factory.mktemp("packaging") / "clone")
    for name in PLANTED_SECRETS:
        (clone / name).write_text("secret\n")
    return clone


def test_a_key_or_env_file_beside_an_example_is_in_neither_the_sdist_nor_the_wheel(dist):
    sdist, wheel = dist
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    with zipfile.ZipFile(wheel) as archive:
        names += archive.namelist()
    assert names and not [name for name in names if name.endswith(("ddns.key", "/.env"))]


@pytest.fixture(scope="module")
def dist(clone):
    """(sdist, wheel) built by ``python -m build --no-isolation`` from the clean clone."""
    need("build", importlib.util.find_spec("build") is not None)
    out = clone.parent / "dist"
    built = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, clone, timeout=300)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr
    (sdist,) = out.glob("dockernet-*.tar.gz")
    (wheel,) = out.glob("dockernet-*.whl")
    return sdist, wheel


def test_twine_accepts_the_sdist_and_the_wheel(dist):
    need("twine", importlib.util.find_spec("twine") is not None)
    checked = run(sys.executable, "-m", "twine", "check", "--strict", *dist, env=outside_env(NO_COLOR="1"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2, checked.stdout


def test_the_sdist_holds_the_source_docs_examples_scripts_tests_and_benchmarks(dist, clone):
    """The whole source a packager starts from: the tests run from it, the docs link the benchmarks' results."""
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        shipped = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = tracked(clone, "dockernet", "docs", "examples", "scripts", "tests", "bench")
    wanted += ["README.md", "LICENSE", "pyproject.toml", "setup.py", "MANIFEST.in"]
    assert set(wanted) - shipped == set()
    assert not [name for name in shipped if "__pycache__" in name or name.endswith(".pyc")]


def test_the_wheel_holds_every_package_every_example_and_the_index_metadata(dist, clone):
    _, wheel = dist
    packages = {str(path.parent.relative_to(clone)) for path in (clone / "dockernet").rglob("__init__.py")}
    data = f"{wheel.name.split('-py3')[0]}.data/data/share/dockernet/"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
    shipped = {str(Path(name).parent) for name in names if name.endswith("/__init__.py")}
    assert packages and packages <= shipped, packages - shipped
    assert {str(path.relative_to(clone)) for path in (clone / "dockernet").rglob("*.py")} <= set(names)
    examples = tracked(clone, "examples")
    assert examples and {data + name for name in examples} <= set(names), "an example file is not in the wheel"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    head = metadata.split("\n\n", 1)[0].splitlines()
    for field in ("License-Expression: MIT", "Description-Content-Type: text/markdown"):
        assert field in head
    for field in ("Keywords: ", "Classifier: Topic :: Internet :: Name Service (DNS)"):
        assert any(line.startswith(field) for line in head), field


def test_the_wheel_in_an_empty_venv_runs_every_package_and_finds_its_examples(dist, clone, tmp_path):
    _, wheel = dist
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    installed = run(venv / "bin" / "pip", "install", "-q", wheel, timeout=INSTALL_TIMEOUT)
    assert installed.returncode == 0, installed.stderr
    dockernet = venv / "bin" / "dockernet"
    helped = run(dockernet, "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    for command in ("watch", "bridge", "netns", "dns", "topology", "examples"):
        assert f"  {command} " in helped.stdout, command
    modules = sorted(
        ".".join(path.relative_to(clone).with_suffix("").parts) for path in clone.glob("dockernet/**/*.py")
    )
    imports = "; ".join(f"import {module}" for module in modules if not module.endswith("__main__"))
    imported = run(venv / "bin" / "python", "-c", imports, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert run(dockernet, "examples", cwd=tmp_path).stdout.strip() == str(venv / "share" / "dockernet" / "examples")
    listed = run(dockernet, "examples", "--list", cwd=tmp_path).stdout.splitlines()
    assert {str(venv / "share" / "dockernet" / name) for name in tracked(clone, "examples")} == set(listed)
    assert all(Path(path).is_file() for path in listed)
    # without them (removed by hand) the command says so in one line, and fails
    shutil.rmtree(venv / "share" / "dockernet")
    gone = run(dockernet, "examples", cwd=tmp_path)
    assert gone.returncode == 1 and gone.stdout == ""
    assert gone.stderr.startswith("dockernet: error: no examples in ") and gone.stderr.count("\n") == 1


def readme_pipx_lines() -> list[str]:
    """The commands of the README's first sh block under its pipx heading, as a reader would type them."""
    text = (REPO / "README.md").read_text()
    assert PIPX_HEADING in text, f"README.md has no '{PIPX_HEADING}'"
    heading_line = text[: text.index(PIPX_HEADING)].count("\n") + 1
    (block, *_) = [b for b in blocks(REPO / "README.md") if b.tag == "sh" and b.line > heading_line]
    return example_lines(block)


def test_the_readme_pipx_lines_install_a_working_dockernet(tmp_path):
    """The README's lines run verbatim in a clean clone; only pipx's home, bin dir and backend are the test's."""
    need("pipx", importlib.util.find_spec("pipx") is not None)
    lines = readme_pipx_lines()
    assert any(line.startswith("pipx install ./dist/dockernet-") for line in lines), lines
    clone = clean_clone(tmp_path / "clone")
    home, bin_dir = tmp_path / "pipx", tmp_path / "bin"
    env = {
        **outside_env(),
        "PIPX_HOME": str(home),
        "PIPX_BIN_DIR": str(bin_dir),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
        # pip, as Debian 12's pipx has it: it reads pip's configuration of the index (a newer pipx picks uv when
        # it finds uv, as it does in this venv)
        "PIPX_DEFAULT_BACKEND": "pip",
        # the pipx of the test extra, beside this interpreter; the command pipx installs first
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    outputs = []
    for line in lines:
        ran = run("bash", "-c", line, cwd=clone, env=env, timeout=INSTALL_TIMEOUT)
        assert ran.returncode == 0, f"{line}: {ran.stdout[-2000:]}{ran.stderr[-2000:]}"
        outputs.append(ran.stdout)
    (shown,) = [index for index, line in enumerate(lines) if line.startswith("dockernet examples")]
    examples = home / "venvs" / "dockernet" / "share" / "dockernet" / "examples"
    listed = outputs[shown].splitlines()
    for name in KEY_EXAMPLES:
        assert str(examples / name) in listed and (examples / name).is_file(), name
    version = run(bin_dir / "dockernet", "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("dockernet, version "), version.stderr
