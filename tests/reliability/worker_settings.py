"""Settings of the real worker processes the reliability suite starts (and kills).

The production settings, plus a pause after each task and before its ack (so a SIGKILL can land
between the work and the acknowledgement, the case that makes duplicates) and, on Redis, a
short heartbeat so a killed worker's unacked messages come back in seconds instead of a minute.
"""

import os

from shop_ai.settings import *  # noqa: F401,F403

DRAMATIQ_BROKER["MIDDLEWARE"] = [*DRAMATIQ_BROKER["MIDDLEWARE"],  # noqa: F405
                                 "tests.reliability.worker_pause.PauseBeforeAck"]
if BROKER_URL.startswith("redis"):  # noqa: F405
    DRAMATIQ_BROKER["OPTIONS"].update(heartbeat_timeout=3_000, maintenance_chance=1_000_000)  # noqa: F405
PAUSE_BEFORE_ACK_SECONDS = float(os.environ.get("PAUSE_BEFORE_ACK_SECONDS", "1.0"))
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
