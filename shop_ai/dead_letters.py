"""Dead letters: list the messages dramatiq gave up on, and send them again (services and selectors)."""

from __future__ import annotations

import dramatiq
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from profiles.models import Shop
from shop_ai.models import DeadLetter


class ReplayRefused(Exception):
    """This dead letter cannot be sent again (already replayed, or its actor is gone)."""


def dead_letters_list(*, shop: Shop | None = None, include_replayed: bool = False) -> QuerySet[DeadLetter]:
    """A shop's dead letters, newest first; `shop=None` lists every shop's (operators, admin)."""
    letters = DeadLetter.objects.select_related("shop")
    if shop is not None:
        letters = letters.filter(shop=shop)
    if not include_replayed:
        letters = letters.filter(replayed_at__isnull=True)
    return letters


def dead_letter_get(*, letter_id: int, shop: Shop | None = None) -> DeadLetter | None:
    return dead_letters_list(shop=shop, include_replayed=True).filter(id=letter_id).first()


@transaction.atomic
def dead_letter_replay(*, letter: DeadLetter) -> DeadLetter:
    """Send the message again as new (a fresh retry budget), once; the row remembers the new id."""
    letter = DeadLetter.objects.select_for_update().get(pk=letter.pk)
    if letter.replayed_at is not None:
        raise ReplayRefused(f"Dead letter {letter.id} was already replayed on {letter.replayed_at:%Y-%m-%d %H:%M} "
                            f"(as message {letter.replay_message_id}).")
    broker = dramatiq.get_broker()
    try:
        broker.get_actor(letter.actor_name)
    except dramatiq.errors.ActorNotFound:
        raise ReplayRefused(f"No actor {letter.actor_name!r} any more; dead letter {letter.id} cannot run.") from None
    message = dramatiq.Message(queue_name=letter.queue_name, actor_name=letter.actor_name, args=tuple(letter.args),
                               kwargs=letter.kwargs, options={})
    broker.enqueue(message)
    letter.replayed_at, letter.replay_message_id = timezone.now(), message.message_id
    letter.save(update_fields=["replayed_at", "replay_message_id"])
    return letter


def dead_letters_replay_all(*, shop: Shop | None = None) -> list[DeadLetter]:
    return [dead_letter_replay(letter=letter) for letter in dead_letters_list(shop=shop).order_by("id")]


ACTOR_WORDS = {
    "events_rollup": "Revenue rollup",
    "customers_changed": "Marking customers for a persona refresh",
    "personas_refresh": "Persona recompute",
    "run_generation_jobs": "Image generation",
    "plan_generation": "Planning image generation",
    "deliver_webhook": "Webhook delivery",
}


def dead_letter_summary(letter: DeadLetter) -> str:
    """What failed, in words: 'Revenue rollup (events_rollup) for shop 3'."""
    what = ACTOR_WORDS.get(letter.actor_name, letter.actor_name.replace("_", " ").capitalize())
    shop = f" for {letter.shop.name}" if letter.shop_id else ""
    return f"{what} ({letter.actor_name}){shop}"
