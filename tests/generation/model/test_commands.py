from generation.management.commands.evaluate_generator import Command as EvaluateCommand
from generation.management.commands.train_generator import Command as TrainCommand
from generation.model import evaluate, train


def test_manage_py_wrappers_take_the_module_options():
    parser = TrainCommand().create_parser("manage.py", "train_generator")
    options = parser.parse_args(["--output", "checkpoints/x", "--variant", "m3", "--steps", "5"])
    assert (options.variant, options.steps, options.output) == ("m3", 5, "checkpoints/x")
    assert vars(train.parse_args(["--output", "checkpoints/x"])).keys() <= vars(options).keys()

    parser = EvaluateCommand().create_parser("manage.py", "evaluate_generator")
    options = parser.parse_args(["--limit", "4", "--model", "a=b"])
    assert options.limit == 4 and options.model == ["a=b"]
    assert vars(evaluate.parse_args([])).keys() <= vars(options).keys()
