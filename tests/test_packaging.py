"""What a plain `pip install .` gets: the wheel holds every file the package reads, and building leaves no
untracked files; the license and citation files exist and are valid."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from conftest import REPO

PACKAGE = REPO / "src" / "weightspace"


def _package_files() -> set[str]:
    """Every file of the source package (modules and the data files it reads: schemas, ...), as wheel paths."""
    return {f"weightspace/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_wheel_holds_every_package_file_and_the_license_and_building_leaves_no_untracked_file(tmp_path):
    """A non-editable install reads the families' schema.yaml from the installed package: they must be in the
    wheel (the list comes from the source tree, so a new data file is checked too)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", ".gitignore"):
        shutil.copy(REPO / name, repo / name)
    shutil.copytree(REPO / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                          "-q", "-w", str(tmp_path / "dist"), "."], cwd=repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (wheel,) = (tmp_path / "dist").glob("weightspace-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert _package_files() - names == set()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)
    untracked = subprocess.run([*git, "status", "--porcelain", "--untracked-files=all"], capture_output=True,
                               text=True, check=True).stdout.splitlines()
    assert [line for line in untracked if line.startswith("??")] == []


def test_license_and_citation_match_the_package():
    """LICENSE is the license pyproject declares; CITATION.cff (CFF 1.2.0; validated with `cffconvert --validate`)
    names this version and license, and tells how to cite results (their code_version)."""
    import yaml

    from weightspace import __version__

    pyproject = (REPO / "pyproject.toml").read_text()  # (tomllib only from Python 3.11)
    assert '\nlicense = "MIT"\nlicense-files = ["LICENSE"]\n' in pyproject
    assert (REPO / "LICENSE").read_text().startswith("MIT License\n\nCopyright (c) 2026 weightspace contributors\n")
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert {"title", "authors", "message"} <= set(cff)
    for entry in (cff, cff["preferred-citation"]):
        assert (entry["version"], entry["license"]) == (__version__, "MIT")
    assert "code_version" in cff["message"] and "code_version" in cff["preferred-citation"]["notes"]
