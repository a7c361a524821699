"""The README's layout table names every folder of the project once, and only what exists."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "jobline"
SKIPPED = {"__pycache__", ".pytest_cache", "versions"}  # migrations/versions is part of migrations/


def layout_rows() -> dict[str, str]:
    """The layout table as {folder: description}."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `([^`]+)/` \| (.+) \|$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def package_folders() -> set[str]:
    return {
        "jobline/" + str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*")
        if path.is_dir() and not SKIPPED & set(path.relative_to(PACKAGE).parts)
    }


def test_every_package_folder_has_its_line() -> None:
    assert package_folders() - set(layout_rows()) == set()


def test_every_folder_named_exists() -> None:
    for folder in layout_rows():
        path = PACKAGE.parent / folder if folder.startswith("jobline") else ROOT / folder.replace("<name>", "api")
        assert path.is_dir(), f"README's layout names {folder}/, which does not exist"


def test_every_module_a_package_line_names_exists() -> None:
    for folder, description in layout_rows().items():
        if not folder.startswith("jobline"):
            continue
        for module in re.findall(r"`([a-z_]+\.py)`", description):
            assert (PACKAGE.parent / folder / module).is_file(), f"README names {folder}/{module}, which does not exist"
