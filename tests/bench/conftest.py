"""Benchmark scripts are loaded by path: putting bench/ on sys.path would shadow the `ingest` package with
bench/ingest.py. A script's bench-local imports (`_env`, `themes`, ...) are loaded the same way first."""
from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench_module() -> Iterator[Callable[..., ModuleType]]:
    """`bench_module("biencoder", "_env")` -> bench/biencoder.py as a module, after bench/_env.py under its own
    name; everything loaded is removed from sys.modules afterwards."""
    added: list[str] = []

    def load(name: str, *deps: str) -> ModuleType:
        for dep in (*deps, name):
            if dep in sys.modules and dep not in added:
                continue
            spec = importlib.util.spec_from_file_location(dep, BENCH / f"{dep}.py")
            mod = importlib.util.module_from_spec(spec)
            sys.modules[dep] = mod
            added.append(dep)
            spec.loader.exec_module(mod)
        return sys.modules[name]

    yield load
    for name in added:
        sys.modules.pop(name, None)
