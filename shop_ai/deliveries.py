"""A dramatiq middleware that keeps our own count of deliveries and records dead letters.

dramatiq retries a message that raised, up to the actor's `max_retries`, but a worker killed
mid-task (SIGKILL, OOM, a lost machine) never gets to count anything: the unacked message comes
back and is run again, forever if it is what kills the worker. `DeliveryLedger` writes a row when
a delivery starts and clears it when one ends; a message that took its worker down
`max_crashes` times in a row (the actor's option, else settings.TASK_MAX_CRASHES) is failed
before it runs again. Every failed message (retries used up, crash cap, age limit) is nacked,
which sends it to the broker's dead-letter queue, and recorded as a `DeadLetter` row that the
`dead_letters` command and the dashboard list and replay.
"""

from __future__ import annotations

import inspect
import logging

import dramatiq
from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone
from dramatiq.middleware import SkipMessage

logger = logging.getLogger(__name__)


class DeliveryLedger(dramatiq.Middleware):
    """List it before `Retries` in the broker's middleware: its `after_*` hooks then run after
    Retries has decided whether the message fails for good."""

    @property
    def actor_options(self):
        return {"max_crashes"}

    def before_process_message(self, broker, message):
        close_old_connections()
        crashes = delivery_start(message=message) - 1
        cap = max_crashes(broker=broker, actor_name=message.actor_name)
        if crashes >= cap:
            message.fail()
            raise SkipMessage(f"The worker stopped mid-task {crashes} times in a row while running it "
                              f"(the cap is {cap}); not run again.")

    def after_process_message(self, broker, message, *, result=None, exception=None):
        delivery_finish(message=message, done=exception is None)

    def after_nack(self, broker, message):
        close_old_connections()
        dead_letter_record(message=message, shop_id=shop_id_of(broker=broker, message=message))


def max_crashes(*, broker, actor_name: str) -> int:
    try:
        options = broker.get_actor(actor_name).options
    except dramatiq.errors.ActorNotFound:
        options = {}
    return options.get("max_crashes", settings.TASK_MAX_CRASHES)


def delivery_start(*, message) -> int:
    """Count a start; returns how many starts in a row are now unfinished (this one included).
    The first delivery is one INSERT; only a redelivery reads and updates its row."""
    from shop_ai.models import MessageDelivery  # the broker (and this middleware) is built before the models

    try:
        with transaction.atomic():
            MessageDelivery.objects.create(message_id=message.message_id, actor_name=message.actor_name,
                                           queue_name=message.queue_name, deliveries=1, unfinished=1,
                                           last_started_at=timezone.now())
        return 1
    except IntegrityError:
        return _delivery_restart(message)


@transaction.atomic
def _delivery_restart(message) -> int:
    from shop_ai.models import MessageDelivery

    row = MessageDelivery.objects.select_for_update().get(message_id=message.message_id)
    row.deliveries += 1
    row.unfinished += 1
    row.last_started_at = timezone.now()
    row.save(update_fields=["deliveries", "unfinished", "last_started_at"])
    return row.unfinished


def delivery_finish(*, message, done: bool) -> None:
    """The delivery ended (the worker survived). Done: forget the message; raised: it may be retried,
    so keep its count of deliveries."""
    from shop_ai.models import MessageDelivery

    rows = MessageDelivery.objects.filter(message_id=message.message_id)
    if done:
        rows.delete()
    else:
        rows.update(unfinished=0)


def shop_id_of(*, broker, message) -> int | None:
    """The `shop_id` argument of the message, by the actor's signature (positional or keyword)."""
    try:
        signature = inspect.signature(broker.get_actor(message.actor_name).fn)
        value = signature.bind_partial(*message.args, **message.kwargs).arguments.get("shop_id")
    except (dramatiq.errors.ActorNotFound, TypeError):
        return None
    return value if isinstance(value, int) else None


def _reason(message) -> str:
    exception = getattr(message, "_exception", None)
    if isinstance(exception, SkipMessage):
        return str(exception) or "Skipped by a middleware (for example the message outlived its age limit)."
    if exception is not None:
        return f"{type(exception).__name__}: {exception}"
    lines = (message.options.get("traceback") or "").strip().splitlines()
    return lines[-1] if lines else "Failed without an exception recorded."


@transaction.atomic
def dead_letter_record(*, message, shop_id: int | None) -> DeadLetter:
    from profiles.models import Shop
    from shop_ai.models import DeadLetter, MessageDelivery

    ledger = MessageDelivery.objects.filter(message_id=message.message_id).first()
    attempts = ledger.deliveries if ledger else message.options.get("retries", 0) + 1
    options = {key: value for key, value in message.options.items() if key != "traceback"}
    letter = DeadLetter.objects.create(
        message_id=message.message_id, queue_name=message.queue_name, actor_name=message.actor_name,
        shop_id=shop_id if shop_id and Shop.objects.filter(id=shop_id).exists() else None,
        args=list(message.args), kwargs=dict(message.kwargs), options=options, reason=_reason(message),
        traceback=message.options.get("traceback") or "", attempts=attempts)
    MessageDelivery.objects.filter(message_id=message.message_id).delete()
    logger.warning("Dead letter %s: %s(%s) after %d attempts: %s", letter.id, letter.actor_name,
                   message.message_id, attempts, letter.reason)
    return letter
