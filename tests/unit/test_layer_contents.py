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


def test_built_layer_check_passes_a_clean_layer_and_names_development_files(tmp_path: pathlib.Path) -> None:
    from jobline_dev.built_layer import development_files

    python = tmp_path / "python"
    (python / "jobline" / "core").mkdir(parents=True)
    (python / "jobline" / "__init__.py").write_text("")
    (python / "pydantic").mkdir()
    assert development_files(tmp_path) == []

    (python / "jobline_dev" / "local").mkdir(parents=True)
    (python / "moto-5.1.0.dist-info").mkdir()
    (python / "jobline" / "local").mkdir()
    (python / "jobline" / "devtoken.py").write_text("")
    assert development_files(tmp_path) == [
        "python/jobline_dev",
        "python/moto-5.1.0.dist-info",
        "python/jobline/local",
        "python/jobline/devtoken.py",
    ]


def test_built_layer_check_refuses_a_folder_without_the_package(tmp_path: pathlib.Path) -> None:
    import pytest

    from jobline_dev.built_layer import development_files

    with pytest.raises(FileNotFoundError):
        development_files(tmp_path)


# The job core is pure: no AWS client, no database, no HTTP framework; only these outside the stdlib.
CORE_MAY_IMPORT = {"pydantic", "pydantic_core", "croniter"}


def runtime_imports(path: pathlib.Path) -> set[str]:
    """Modules a file imports when it runs (imports under `if TYPE_CHECKING:` left out)."""
    tree = ast.parse(path.read_text(), str(path))
    checking_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_job_core_imports_no_aws_database_or_engine_code() -> None:
    import sys

    offenders = {}
    for path in sorted((LAYER / "jobline" / "core").glob("*.py")):
        outside = {
            name
            for name in runtime_imports(path)
            if name.split(".")[0] not in sys.stdlib_module_names
            and name.split(".")[0] not in CORE_MAY_IMPORT
            and not name.startswith("jobline.core")
            and name not in {"jobline.domains", "__future__"}  # the catalog walks the domains' folder
        }
        if outside:
            offenders[path.name] = sorted(outside)
    assert offenders == {}
