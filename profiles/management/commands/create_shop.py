from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from profiles.services import api_key_create, shop_create


class Command(BaseCommand):
    help = "Create a shop and print its API key (the key is shown once, as the last line)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--currency", default="CNY")
        parser.add_argument("--timezone", default="Asia/Shanghai")

    def handle(self, *args, name: str, currency: str, timezone: str, **options):
        try:
            shop = shop_create(name=name, currency=currency, timezone_name=timezone)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        issued = api_key_create(shop=shop, label="created by create_shop")
        self.stdout.write(f"Created shop {shop.name!r} (id {shop.id}, {shop.currency}, {shop.timezone}).")
        self.stdout.write("Its API key follows; it is shown only this once. Send it as `Authorization: Bearer <key>`.")
        self.stdout.write(issued.raw_key)
