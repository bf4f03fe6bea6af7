"""manage.py train_generator: a thin wrapper around ``python -m generation.model.train``."""

import argparse

from django.core.management.base import BaseCommand

from generation.model import train


class Command(BaseCommand):
    help = "Train the UPCDM scene stager on rendered (placed matte, persona) -> scene examples (see generation/model/train.py)."

    def add_arguments(self, parser):
        train.add_arguments(parser)

    def handle(self, *args, **options):
        names = {action.dest for action in self._train_parser()._actions if action.dest != "help"}
        log = train.train(argparse.Namespace(**{name: options[name] for name in names}))
        self.stdout.write(f"trained {log['variant']} for {log['steps']} steps; weights in {options['output']}/weights")

    @staticmethod
    def _train_parser():
        parser = argparse.ArgumentParser()
        train.add_arguments(parser)
        return parser
