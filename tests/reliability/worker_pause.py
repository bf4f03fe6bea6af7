"""A test-only dramatiq middleware: the worker waits a moment after each task, before the ack."""

import time

import dramatiq
from django.conf import settings


class PauseBeforeAck(dramatiq.Middleware):
    """Listed last, so its after-hook runs first: the task's writes are done, the ledger still
    says 'under way' and the message is not acked yet."""

    def after_process_message(self, broker, message, *, result=None, exception=None):
        time.sleep(settings.PAUSE_BEFORE_ACK_SECONDS)
