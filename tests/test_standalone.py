"""The repository stands alone: no reference to a file outside it, a licence, a changelog, a version, and a
sources page that lists every default of the config as the code has it."""

from __future__ import annotations

import re
import runpy
import subprocess
import tomllib
from pathlib import Path

import scenarios

ROOT = Path(__file__).resolve().parents[1]

# Built from pieces so that this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        [
            r"\.\./" + "shared",
            "shared/" + r"(reference|context)",
            r"(?<![\w.])/" + "work/",  # an absolute path (not "school/work/community")
            r"(?<![\w.])/" + "root/",
            r"(?<![\w.])/" + r"home/\w",
            r"(?<![\w.])/" + "Users/",
            r"(?<![\w.])/" + "tmp/",
            "MISSION" + r"\.md",
            "STYLE" + r"\.md",
            "DESIGN" + r"\.md",
            r"\b[Ii]ssue" + r" \d+\b",
        ]
    )
)


def _repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return [ROOT / f for f in listed if f and (ROOT / f).is_file()]


def test_no_file_refers_to_a_path_outside_the_repository():
    found = []
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary data
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not found, "\n".join(found)


def test_licence_changelog_and_version():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert f"## {meta['version']}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert scenarios.__version__ == meta["version"]


def test_sources_page_lists_every_config_default_as_the_code_has_it():
    made = runpy.run_path(str(ROOT / "docs" / "sources_table.py"))
    page = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    mark = made["MARK"]
    assert page.count(mark) == 2
    listed = page.split(mark)[1].strip()
    assert listed == made["table"](), "docs/sources.md is stale: regenerate with python docs/sources_table.py"
    keys = [row[0] for row in made["rows"]()]
    assert len(keys) > 80 and "oxygen.flow_severe_l_per_min" in keys and "capacity.beds_icu_per_100k" in keys
