"""tests/run_suites.sh runs the backend-free tests once (in the SQLite pass), not again on Postgres."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ["tests/profiles/nlp/test_sentiment_linear.py", "tests/profiles/test_shop_sentiment.py"]


def _start_collecting(backend_tests_only: bool) -> subprocess.Popen:
    env = {**os.environ, "BACKEND_TESTS_ONLY": "1" if backend_tests_only else "0"}
    return subprocess.Popen([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:warnings", *FILES],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _collected(run: subprocess.Popen) -> set[str]:
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stdout + stderr
    return {line.split("::")[0] for line in stdout.splitlines() if "::" in line}


def test_the_postgres_pass_leaves_out_only_the_tests_that_touch_no_database_or_broker():
    # Two independent collections: run side by side, they take half the time.
    runs = _start_collecting(backend_tests_only=False), _start_collecting(backend_tests_only=True)
    try:
        every_test, backend_tests = [_collected(run) for run in runs]
    finally:
        for run in runs:
            run.kill()  # only one still running, after the other failed or timed out
    assert every_test == set(FILES)
    assert backend_tests == {"tests/profiles/test_shop_sentiment.py"}
