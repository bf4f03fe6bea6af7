"""List and replay dead letters: `dead_letters list [--shop ID] [--all]`, `replay ID`, `replay --all`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from profiles.models import Shop
from shop_ai.dead_letters import (
    ReplayRefused,
    dead_letter_get,
    dead_letter_replay,
    dead_letter_summary,
    dead_letters_list,
    dead_letters_replay_all,
)


class Command(BaseCommand):
    help = ("Messages dramatiq gave up on (retries used up, or they kept stopping the worker): list them "
            "with what failed, when, why and after how many attempts, and send them again.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="Dead letters not yet replayed, newest first.")
        listing.add_argument("--shop", type=int, help="Only this shop's dead letters (its id).")
        listing.add_argument("--replayed", action="store_true", help="Include the ones already replayed.")
        replay = actions.add_parser("replay", help="Send one dead letter again (or every one with --all).")
        replay.add_argument("id", nargs="?", type=int)
        replay.add_argument("--all", action="store_true", dest="every")
        replay.add_argument("--shop", type=int, help="Only this shop's dead letters (its id).")

    def handle(self, *args, action: str, shop: int | None = None, **options):
        chosen = self._shop(shop)
        if action == "list":
            self._list(chosen, options["replayed"])
        elif options["every"]:
            replayed = dead_letters_replay_all(shop=chosen)
            for letter in replayed:
                self.stdout.write(f"Replayed #{letter.id} as message {letter.replay_message_id}.")
            self.stdout.write(self.style.SUCCESS(f"{len(replayed)} dead letter(s) replayed."))
        elif options["id"] is not None:
            self._replay_one(options["id"], chosen)
        else:
            raise CommandError("Say which dead letter to replay (its id, from `dead_letters list`) or --all.")

    def _shop(self, shop_id: int | None) -> Shop | None:
        if shop_id is None:
            return None
        shop = Shop.objects.filter(id=shop_id).first()
        if shop is None:
            raise CommandError(f"No shop with id {shop_id}.")
        return shop

    def _list(self, shop: Shop | None, include_replayed: bool) -> None:
        letters = list(dead_letters_list(shop=shop, include_replayed=include_replayed))
        if not letters:
            self.stdout.write("No dead letters." if include_replayed else "No dead letters waiting for a replay.")
            return
        for letter in letters:
            replayed = f" — replayed {letter.replayed_at:%Y-%m-%d %H:%M:%S}" if letter.replayed_at else ""
            self.stdout.write(
                f"#{letter.id}  {dead_letter_summary(letter)}{replayed}\n"
                f"    failed {letter.failed_at:%Y-%m-%d %H:%M:%S %Z} after {letter.attempts} attempt(s), "
                f"queue {letter.queue_name}, message {letter.message_id}\n"
                f"    why: {letter.reason}\n"
                f"    args {letter.args} kwargs {letter.kwargs}")
        self.stdout.write(f"{len(letters)} dead letter(s). Replay one with `dead_letters replay ID`, "
                          "all with `dead_letters replay --all`.")

    def _replay_one(self, letter_id: int, shop: Shop | None) -> None:
        letter = dead_letter_get(letter_id=letter_id, shop=shop)
        if letter is None:
            raise CommandError(f"No dead letter #{letter_id}{' in that shop' if shop else ''}.")
        try:
            letter = dead_letter_replay(letter=letter)
        except ReplayRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Replayed #{letter.id} ({dead_letter_summary(letter)}) as message "
                                             f"{letter.replay_message_id}."))
