"""Imports point down the layers only (import-linter contract in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_import_layers_contract_is_kept():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run(
        [exe, "--config", "pyproject.toml"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_engines_and_library_do_not_import_matplotlib_or_mesa_at_import():
    code = "import sys, scenarios, scenarios.simulate; print('matplotlib' in sys.modules, 'mesa' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_code_passes_ruff_lint_and_format():
    root = Path(__file__).resolve().parents[1]
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    for args in (["check", "src", "tests", "benchmarks"], ["format", "--check", "src", "tests", "benchmarks"]):
        result = subprocess.run([exe, *args], cwd=root, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
