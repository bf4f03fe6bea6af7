"""manage.py evaluate_generator: a thin wrapper around ``python -m generation.model.evaluate``."""

import argparse

from django.core.management.base import BaseCommand

from generation.model import evaluate


class Command(BaseCommand):
    help = "Evaluate generator weights on the held-out test pairs beside seed 000's Tables 1 and 2."

    def add_arguments(self, parser):
        evaluate.add_arguments(parser)

    def handle(self, *args, **options):
        parser = argparse.ArgumentParser()
        evaluate.add_arguments(parser)
        names = {action.dest for action in parser._actions if action.dest != "help"}
        evaluate.main(argparse.Namespace(**{name: options[name] for name in names}))
