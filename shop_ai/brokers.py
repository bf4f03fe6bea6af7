"""The production brokers, with publishing that rides out a broker blip.

dramatiq's RabbitmqBroker retries a failed publish 6 times back to back, which is over in
milliseconds; a RabbitMQ restart (`rabbitmqctl stop_app`/`start_app`) or a Redis restart takes
seconds. These subclasses retry with backoff for up to settings.ENQUEUE_RETRY_SECONDS, then raise
as before: the database is the source of truth, and `manage.py sweep_jobs` re-sends what is
still waiting for a message that never got out (see shop_ai/sweeper.py).
"""

from __future__ import annotations

import logging
import time

import dramatiq
import pika.exceptions
import redis.exceptions
from django.conf import settings
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

logger = logging.getLogger(__name__)
BLIPS = (dramatiq.errors.ConnectionError, pika.exceptions.AMQPError, redis.exceptions.ConnectionError,
         redis.exceptions.TimeoutError, OSError)


def _with_retries(publish, message, delay):
    deadline = time.monotonic() + settings.ENQUEUE_RETRY_SECONDS
    pause = 0.1
    while True:
        try:
            return publish(message, delay=delay)
        except BLIPS as exc:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("Publishing %s failed (%s); retrying in %.1f s", message.actor_name, exc, pause)
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


class RetryingRabbitmqBroker(RabbitmqBroker):
    def enqueue(self, message, *, delay=None):
        return _with_retries(super().enqueue, message, delay)


class RetryingRedisBroker(RedisBroker):
    def enqueue(self, message, *, delay=None):
        return _with_retries(super().enqueue, message, delay)
