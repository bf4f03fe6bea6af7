"""The reliability suite: faults, load and hostile input (issue 8).

Each test reports what it measured with the `reliability` fixture; the rows are printed as one
summary table at the end of the run and, when RELIABILITY_JSON is set, written there as JSON.
The fast subset runs in CI with the rest of the suite; tests marked `reliability_full` (real
worker processes, broker restarts, minutes of load) run with `make reliability`.
"""

from __future__ import annotations

from tests.reliability.summary import ReliabilityRow, record_row  # noqa: F401

import pytest


@pytest.fixture
def reliability(request):
    """Call with the measured figures: reliability(sent=…, stored=…, lost=…, passed=…)."""

    def record(**figures) -> ReliabilityRow:
        return record_row(request.node.nodeid, **figures)

    return record
