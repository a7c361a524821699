"""The Lambda layer ships the jobline package and nothing of the development kit, the tests or the benchmarks."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared"
DEVELOPMENT_ONLY = ("jobline_dev", "tests", "bench", "pgserver", "moto", "pytest", "playwright")


def imported_roots(path: pathlib.Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_layer_holds_no_local_stack_dev_tokens_or_scratch_databases() -> None:
    package = LAYER / "jobline"
    assert package.is_dir()
    for moved in ("local", "devtoken.py", "databases.py"):
        assert not (package / moved).exists(), f"{moved} belongs to dev/jobline_dev, not the layer"


def test_no_layer_module_imports_development_code() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & set(DEVELOPMENT_ONLY))
        for path in LAYER.rglob("*.py")
        if imported_roots(path) & set(DEVELOPMENT_ONLY)
    }
    assert offenders == {}
