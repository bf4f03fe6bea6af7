"""A simulated shop's benefit figures depend on its seed alone.

`benchmarks/benefit.py` quotes figures of simulated shops (the demo's headline MDE among them), so
they must come out the same in every run of the same command: whatever Python's string-hash seed,
and however many shops the run simulated before this one (the storefront salts its holdout hash
with the shop's id). Each run is a fresh process with its own database, as the benchmark's are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = 41

RUN = """
import json, sys, tempfile
from datetime import timedelta
from pathlib import Path

from benchmarks import benefit

seeds = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as scratch:
    benefit.setup_django(Path(scratch) / "benefit.sqlite3")
    from analytics.exports import report_as_csv
    from analytics.reports import benefit_report
    from profiles.models import Shop

    for seed in seeds:
        simulated = benefit.simulate_shop(seed, 150, 15, weeks_before=2, weeks_after=2, name="determinism")
    report = benefit_report(shop=Shop.objects.get(name=f"determinism-{seeds[-1]}"),
                            start=(benefit.SIMULATION_END - timedelta(weeks=4)).date(),
                            end=(benefit.SIMULATION_END - timedelta(days=1)).date())
    print(json.dumps({"estimates": benefit.estimate_shop(simulated), "report": report_as_csv(report),
                      "headline": report.headline, "exposed": len(simulated["visitors"])}))
"""


def _start_run(seeds: list[int], hash_seed: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.Popen([sys.executable, "-c", RUN, json.dumps(seeds)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _figures_of_last_shop(run: subprocess.Popen) -> dict:
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_simulated_shop_reads_the_same_whatever_the_hash_seed_and_the_shops_before_it():
    # Two independent processes, each with its own database: run side by side, they take half the time.
    runs = _start_run([SEED], hash_seed="1"), _start_run([SEED - 1, SEED], hash_seed="2")
    try:
        alone, after_another = [_figures_of_last_shop(run) for run in runs]
    finally:
        for run in runs:
            run.kill()  # only one still running, after the other failed or timed out

    assert alone["exposed"] > 50  # enough shoppers saw variants for the split to matter
    assert any(row[1] is not None for row in alone["estimates"])
    assert alone == after_another
