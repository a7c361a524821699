"""Checks what `sam build` put in the shared layer: the jobline package and its runtime
dependencies, and nothing of the development kit, the tests or the benchmarks.

`make build` runs it after `sam build` (`python -m jobline_dev.built_layer .aws-sam/build/SharedLayer`),
so a layer that would ship development code fails the build instead of reaching Lambda.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

# Top-level names under the layer's `python/` that only development needs.
DEVELOPMENT_TOP_LEVEL = ("jobline_dev", "tests", "bench", "moto", "pytest", "_pytest", "playwright", "pgserver")
# What moved out of the jobline package into the development kit.
DEVELOPMENT_IN_PACKAGE = ("local", "devtoken.py", "databases.py", "support.py")


def development_files(layer: pathlib.Path) -> list[str]:
    """The paths in a built layer that belong to development, relative to the layer."""
    python = layer / "python"
    if not (python / "jobline" / "__init__.py").is_file():
        raise FileNotFoundError(f"{python} holds no jobline package: is this a built layer?")
    found = [
        str(path.relative_to(layer))
        for path in sorted(python.iterdir())
        if path.name.split("-")[0] in DEVELOPMENT_TOP_LEVEL
    ]
    found += [
        str(path.relative_to(layer))
        for name in DEVELOPMENT_IN_PACKAGE
        for path in sorted((python / "jobline").rglob(name))
    ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layer", type=pathlib.Path, help="the built layer's folder, e.g. .aws-sam/build/SharedLayer")
    layer = parser.parse_args(argv).layer
    found = development_files(layer)
    if found:
        print("the built layer ships development code:", *found, sep="\n  ", file=sys.stderr)
        return 1
    packages = sorted(path.name for path in (layer / "python").iterdir() if path.is_dir())
    print(f"{layer}: jobline and {len(packages) - 1} dependency folders, no development code")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
