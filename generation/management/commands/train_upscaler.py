"""manage.py train_upscaler: a thin wrapper around ``python -m generation.upscaling.train``."""

import argparse

from django.core.management.base import BaseCommand

from generation.upscaling import train


class Command(BaseCommand):
    help = "Train the x4 ESRGAN-lite upscaler on 64->256 renderer pairs (see generation/upscaling/train.py)."

    def add_arguments(self, parser):
        train.add_arguments(parser)

    def handle(self, *args, **options):
        parser = argparse.ArgumentParser()
        train.add_arguments(parser)
        names = [action.dest for action in parser._actions if action.dest != "help"]
        log = train.train(argparse.Namespace(**{name: options[name] for name in names}))
        self.stdout.write(
            f"best validation PSNR {log['best']['psnr']:.2f} dB (bicubic {log['bicubic_validation_psnr']:.2f}) "
            f"after {log['steps']} steps; weights in {options['output']}"
        )
