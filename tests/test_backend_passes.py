"""tests/run_suites.sh runs the backend-free tests once (in the SQLite pass), not again on Postgres."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ["tests/profiles/nlp/test_sentiment_linear.py", "tests/profiles/test_shop_sentiment.py"]


def _collected(backend_tests_only: bool) -> set[str]:
    env = {**os.environ, "BACKEND_TESTS_ONLY": "1" if backend_tests_only else "0"}
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:warnings", *FILES],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return {line.split("::")[0] for line in run.stdout.splitlines() if "::" in line}


def test_the_postgres_pass_leaves_out_only_the_tests_that_touch_no_database_or_broker():
    assert _collected(backend_tests_only=False) == set(FILES)
    assert _collected(backend_tests_only=True) == {"tests/profiles/test_shop_sentiment.py"}
