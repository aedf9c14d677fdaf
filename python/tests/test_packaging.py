"""The distribution: a wheel that carries the schema and py.typed, depending on boto3 only."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    importlib.util.find_spec("hatchling") is None,
    reason="the build backend (hatchling) is not installed; `pip install hatchling` to build the wheel here",
)
def test_the_wheel_ships_the_schema_and_the_type_marker(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(PACKAGE)],
        check=True,
    )
    (wheel,) = tmp_path.glob("trace_stream-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(name).decode() for name in names if name.endswith("METADATA"))
    assert {"trace_stream/py.typed", "trace_stream/trace-event.schema.json", "trace_stream/trace.py"} <= names
    requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requirements == ["Requires-Dist: boto3>=1.26"]


def test_the_package_declares_boto3_as_its_only_dependency() -> None:
    text = (PACKAGE / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dependencies = ["boto3>=1.26"]' in text
    assert 'build-backend = "hatchling.build"' in text
