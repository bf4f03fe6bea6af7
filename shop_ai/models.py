"""What the project keeps about dramatiq messages: deliveries under way, and dead letters.

Both are written by `shop_ai.deliveries.DeliveryLedger`, a dramatiq middleware, so every actor
of every app gets them without importing anything from here.
"""

from django.db import models

from profiles.models import Shop


class MessageDelivery(models.Model):
    """A message some worker has taken and not finished. dramatiq does not count a worker killed
    mid-task as a retry (the unacked message simply comes back), so this row is our own count:
    `unfinished` goes up when a delivery starts and back to 0 when one ends, and a message that
    took a worker down too many times in a row is dead-lettered instead of run again."""

    message_id = models.CharField(max_length=64, unique=True)
    actor_name = models.CharField(max_length=100)
    queue_name = models.CharField(max_length=100)
    deliveries = models.PositiveIntegerField(default=0, help_text="Every start, finished or not.")
    unfinished = models.PositiveIntegerField(default=0, help_text="Starts in a row that never finished.")
    first_started_at = models.DateTimeField(auto_now_add=True)
    last_started_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.actor_name} {self.message_id} ({self.unfinished} unfinished)"


class DeadLetter(models.Model):
    """A message dramatiq gave up on (retries used up, or it kept killing its worker). The broker
    also keeps it in its dead-letter queue for a while; this row is what people list and replay."""

    message_id = models.CharField(max_length=64, db_index=True)
    queue_name = models.CharField(max_length=100)
    actor_name = models.CharField(max_length=100)
    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.CASCADE, related_name="dead_letters")
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    reason = models.TextField(help_text="The last exception, as dramatiq recorded it.")
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    failed_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replay_message_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "replayed_at", "failed_at"])]
        ordering = ["-failed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.message_id}: {self.reason[:60]}"


class SweepState(models.Model):
    """How far `sweep_jobs` has recounted a shop's revenue: events up to this id are covered."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="sweep_state")
    rollup_event_id = models.BigIntegerField(default=0)
    swept_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sweep of {self.shop} (events ≤ {self.rollup_event_id})"
