"""The Lambda layer ships what the package declares: both lists name the same pinned packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `name[extras]==version`: the name (normalised as pip does) and the pin.
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _REQUIREMENT.match(line)
        assert match, f"not an exact pin: {line!r}"
        pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(3)
    return pins


def test_layer_requirements_and_package_dependencies_pin_the_same_packages() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    shipped = (ROOT / "layers/shared/requirements.txt").read_text().splitlines()
    assert _pins(shipped) == _pins(declared)


def test_export_formats_libraries_are_pinned() -> None:
    pins = _pins((ROOT / "layers/shared/requirements.txt").read_text().splitlines())
    assert pins["xlsxwriter"] == "3.3.1"
    assert pins["fpdf2"] == "2.8.9"
