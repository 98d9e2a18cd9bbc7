"""`semeq-train`: one entry point, one subcommand per model (each defined in its own module)."""
import argparse
from importlib import import_module

# subcommand → module with `add_arguments(parser)` and `run(args)`
SUBCOMMANDS = {
    "eq": "semeq_train.eqspace.cli",
    "audio": "semeq_train.audio.cli",
    "vocab": "semeq_train.vocabulary.cli",
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="semeq-train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module_name in SUBCOMMANDS.items():
        module = import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=module.__doc__.strip().splitlines()[0]))
    args = parser.parse_args(argv)
    return import_module(SUBCOMMANDS[args.command]).run(args)


if __name__ == "__main__":
    raise SystemExit(main())
