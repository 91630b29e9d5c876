"""Every code snippet the docs show runs, offline, and its own asserts hold.

The docs include Python from ``docs/snippets/*.py`` (pymdownx.snippets, ``--8<-- "name.py"`` or
``--8<-- "name.py:section"``). Each file is a script that asserts the claims the prose makes
about it (a parameter count, a loss that goes down, an error that is raised), so a claim that
rots fails here. Every file is run in its own Python process with no hub access
(``HF_HUB_OFFLINE=1``), two at a time to keep the suite short on a 2-core machine; a file
that needs longer than ``SNIPPET_TIMEOUT_S`` fails.

A second, cheap test checks that every ``--8<--`` include in the Markdown names a snippet file
and section that exist (``mkdocs build --strict`` checks that too, but needs the docs extras).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS_DIR = ROOT / "docs" / "snippets"
SNIPPETS = sorted(SNIPPETS_DIR.glob("*.py"))
SNIPPET_TIMEOUT_S = 240  # per file, generous for a busy machine; most take a few seconds
WORKERS = max(1, min(2, os.cpu_count() or 1))


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        # WORKERS processes share the cores: give each its share of threads.
        OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // WORKERS)),
        PYTHONHASHSEED="0",
    )
    return env


def _run(path: Path) -> tuple[subprocess.CompletedProcess | None, float]:
    start = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, str(path)],
            cwd=ROOT,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=SNIPPET_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        result = None
    return result, time.monotonic() - start


@pytest.fixture(scope="module")
def snippet_runs(request: pytest.FixtureRequest):
    """Start every selected snippet at once on a small pool; each test waits for its own."""
    selected = [
        item.callspec.params["snippet"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_snippet_runs"
        and Path(item.path) == Path(__file__)
    ]
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures: dict[Path, Future] = {path: pool.submit(_run, path) for path in selected}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[p.name for p in SNIPPETS])
def test_snippet_runs(snippet: Path, snippet_runs) -> None:
    result, seconds = snippet_runs[snippet].result()
    name = snippet.relative_to(ROOT)
    assert result is not None, f"{name} did not finish within {SNIPPET_TIMEOUT_S} s"
    output = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, (
        f"{name} exited with {result.returncode} after {seconds:.1f} s:\n{output}"
    )


def test_there_are_snippets() -> None:
    assert SNIPPETS, f"no snippets found in {SNIPPETS_DIR}"


# `--8<-- "file.py"` or `--8<-- "file.py:section"` on a line of its own (block or inline form).
INCLUDE = re.compile(r'^\s*--8<--\s+"(?P<path>[^":]+\.py)(?::(?P<section>[a-z][-_0-9a-z]*))?"\s*$')


def _includes() -> list[tuple[Path, int, str, str | None]]:
    found = []
    for page in sorted((ROOT / "docs").glob("*/**/*.md")):
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            match = INCLUDE.match(line)
            if match:
                found.append((page, number, match["path"], match["section"]))
    return found


def test_every_snippet_include_resolves() -> None:
    """Same lookup as mkdocs.yml's pymdownx.snippets: base paths docs/snippets, then the root."""
    problems = []
    for page, number, path, section in _includes():
        where = f"{page.relative_to(ROOT)}:{number}"
        candidates = [SNIPPETS_DIR / path, ROOT / path]
        target = next((c for c in candidates if c.is_file()), None)
        if target is None:
            problems.append(f"{where}: no file {path} under docs/snippets/ or the repository")
            continue
        if section is not None:
            text = target.read_text(encoding="utf-8")
            for kind in ("start", "end"):
                if not re.search(rf"--8<--\s*\[\s*{kind}\s*:\s*{re.escape(section)}\s*\]", text):
                    problems.append(f"{where}: {path} has no [{kind}:{section}] marker")
    assert not problems, "\n".join(problems)
