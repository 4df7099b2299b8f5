"""The wheel users get: both packages, the schema, and every entry point resolving."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src")
    # Build from a copy of the files git would commit: a build must not write
    # into the checkout, and an untracked stray file must not hide a missing one.
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        if rel.startswith(("auditkit/", "probes/")) or rel in ("pyproject.toml", "README.md", "LICENSE"):
            if (ROOT / rel).is_file():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, src / rel)
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        cwd=src,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # A newcomer's install prints no deprecation warning (project.license is an SPDX string).
    assert "deprecat" not in (proc.stdout + proc.stderr).lower(), proc.stdout[-3000:] + proc.stderr[-3000:]
    (whl,) = out.glob("auditkit-*.whl")
    return whl


def test_the_wheel_says_its_license_in_spdx_and_ships_its_text(wheel: Path) -> None:
    zf = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
    lines = zf.read(metadata).decode().splitlines()
    assert "License-Expression: MIT" in lines and "License-File: LICENSE" in lines
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in zf.namelist())


def test_wheel_ships_both_packages_and_the_schema(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "auditkit/__init__.py",
        "auditkit/py.typed",
        "auditkit/schema/scorecard.schema.json",
        "auditkit/_models/_torch.py",
        "probes/__init__.py",
    ):
        assert required in names, required
    assert not any(n.startswith(("tests/", "examples/", "benchmarks/")) for n in names)


def test_every_entry_point_in_the_wheel_resolves_to_a_shipped_object(wheel: Path) -> None:
    zf = zipfile.ZipFile(wheel)
    (ep_file,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(zf.read(ep_file).decode())
    probes = dict(parser["auditkit.probes"])
    assert {"target_leakage", "slice_bias", "nan_injection", "cost_weighted_errors"} <= set(probes)
    assert parser["console_scripts"]["auditkit"] == "auditkit._cli:main"
    names = set(zf.namelist())
    for group in parser.sections():
        for value in parser[group].values():
            module = value.split(":")[0]
            path = module.replace(".", "/")
            assert f"{path}.py" in names or f"{path}/__init__.py" in names, f"{group}: {value}"


def test_the_installed_probes_load_and_match_their_names() -> None:
    found = {ep.name: ep for ep in entry_points(group="auditkit.probes")}
    for name, ep in found.items():
        cls = ep.load()
        assert cls.name == name
        assert cls.__doc__ and len(cls.__doc__.strip()) > 40, f"{name} needs a docstring saying what it detects"
