"""Every benchmark under bench/ runs, at a tiny size, so that none can rot unnoticed.

Each runs as its README line says, in its own process, and must finish and print its
figures. The sizes are too small for the ratios to mean anything (they are measured at full
size, see the README): what is checked here is that the script still works against the
app as it is now. The two whose verdicts hold at any size (page weight and height; every
report of a burst filed once, in order) must also meet them.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

# script: (its arguments at a tiny size, what its output must show)
TINY = {
    "bench/audit.py": (["60", "2000"], "ratio"),
    "bench/duplicates.py": (["20", "--runs", "1"], "compared"),
    "bench/file_report.py": (["15"], "ratio full / bare insert, HTTP + ORM"),
    "bench/keys.py": (["5"], "ratio case page / clear page"),
    "bench/stats.py": (["300"], "statistics page statements"),
    "bench/concurrent_filing.py": (["5"], "OK"),
    "bench/page_weight.py": ([], "report form height at 360 px"),
}


def test_every_bench_script_is_run_here():
    scripts = {f"bench/{path.name}" for path in BENCH.glob("*.py")}
    assert scripts - {"bench/common.py", "bench/__init__.py"} == set(TINY)


def _needs_chromium(script: str) -> None:
    if script == "bench/page_weight.py" and not os.access("/usr/bin/chromium", os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: bench/page_weight.py needs /usr/bin/chromium")
        pytest.skip("bench/page_weight.py needs Chromium at /usr/bin/chromium")


@pytest.mark.parametrize("script", sorted(TINY))
def test_the_bench_script_runs_at_a_tiny_size(script):
    _needs_chromium(script)
    arguments, shown = TINY[script]
    finished = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
        [sys.executable, str(ROOT / script), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-3000:]
    assert shown in finished.stdout, finished.stdout[-2000:]
