"""manage.py train_sentiment: retrain the sentiment TextCNN (see profiles.nlp.train_sentiment)."""

from django.core.management.base import BaseCommand

from profiles.nlp.train_sentiment import add_training_arguments, run


class Command(BaseCommand):
    help = (
        "Train the sentiment ensemble (TextCNN + char n-gram TF-IDF LR) on the corpora of "
        "profiles/nlp/data/sentiment_sources.tsv and write safetensors weights, vocabulary and manifest to profiles/nlp/weights/."
    )

    def add_arguments(self, parser):
        add_training_arguments(parser)

    def handle(self, *args, **options):
        run(_namespace(options), log=self.stdout.write)


def _namespace(options: dict):
    """The training options only (Django adds its own, such as verbosity), as ``train`` expects."""
    from argparse import ArgumentParser, Namespace

    parser = ArgumentParser()
    add_training_arguments(parser)
    names = [action.dest for action in parser._actions if action.dest != "help"]
    return Namespace(**{name: options[name] for name in names})
