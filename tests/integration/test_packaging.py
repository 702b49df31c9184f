"""The wheel built from a clean clone holds every package of dockernet, and installs and runs on its own."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_wheel_from_a_clean_clone_installs_every_package_and_runs(tmp_path):
    assert shutil.which("git"), "git is not installed (scripts/install-deps --test installs it)"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(clone)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("dockernet-*.whl")
    packages = {str(path.parent.relative_to(clone)) for path in (clone / "dockernet").rglob("__init__.py")}
    with zipfile.ZipFile(wheel) as archive:
        shipped = {str(Path(name).parent) for name in archive.namelist() if name.endswith("/__init__.py")}
        modules = {name for name in archive.namelist() if name.endswith(".py")}
    assert packages and packages <= shipped, packages - shipped
    assert {str(path.relative_to(clone)) for path in (clone / "dockernet").rglob("*.py")} <= modules
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    ran = subprocess.run([str(venv / "bin" / "dockernet"), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "watch" in ran.stdout and "bridge" in ran.stdout
