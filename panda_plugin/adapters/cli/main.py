"""The ``panda`` command line."""
from __future__ import annotations

import argparse
import logging
import sys
from panda_plugin.adapters.cli import folders as cli_folders
from panda_plugin.adapters.cli import panda as cli_panda
from panda_plugin.adapters.cli.arguments import call_handler, set_handler
from panda_plugin.adapters.cli.interrupts import one_stop_per_press
from panda_plugin.adapters.cli.points import (
    add_click_page,
    add_export_point_weights,
    add_make_points_data,
    add_make_pseudo_labels,
    add_regions,
)
from panda_plugin.core.errors import PandaInputError


#: ``panda train`` and ``panda test``: BasicSR's pipelines with the plugin registered.
_PIPELINES = {
    'train': ('train PANDA or a restoration model with BasicSR: panda train -opt OPTIONS.yml [--auto_resume]',
              "Runs BasicSR's training pipeline with the plugin registered; every argument is passed to "
              'BasicSR (-opt, --auto_resume, --launcher, --debug, ...).'),
    'test': ('test a model with BasicSR: panda test -opt OPTIONS.yml',
             "Runs BasicSR's test pipeline with the plugin registered; every argument is passed to "
             'BasicSR (-opt, --force_yml, ...). Results go to results/<name>/.'),
}


def _add_pipelines(commands) -> None:
    for name, (summary, description) in _PIPELINES.items():
        parser = commands.add_parser(name, help=summary, description=description)
        parser.add_argument('arguments', nargs=argparse.REMAINDER, help=f'BasicSR {name} arguments')
        set_handler(parser, pipeline_command, pipeline=name)


def pipeline_command(pipeline: str, arguments: list[str]) -> int:
    """``panda train`` and ``panda test``: BasicSR's pipeline with the plugin registered.

    Args:
        pipeline: ``'train'`` or ``'test'``.
        arguments: BasicSR's arguments, e.g. ``['-opt', 'options/x.yml', '--auto_resume']``.

    Returns:
        Exit status 0.
    """
    from panda_plugin.adapters.option_loading import check_option_arguments

    check_option_arguments(arguments)  # before torch and BasicSR are imported
    from panda_plugin.adapters.basicsr import training

    getattr(training, pipeline)(arguments)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``panda`` argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(prog='panda', description='Panoptic pairwise distortion graphs.')
    parser.add_argument('-v', '--verbose', action='store_true', help='log progress details')
    commands = parser.add_subparsers(dest='command', required=True)
    cli_panda.add_demo(commands)
    cli_panda.add_compare(commands)
    cli_folders.add_score(commands)
    cli_folders.add_duel(commands)
    cli_panda.add_bench(commands)
    cli_panda.add_make_dataset(commands)
    cli_panda.add_make_sr_data(commands)
    add_regions(commands)
    add_click_page(commands)
    add_make_points_data(commands)
    add_make_pseudo_labels(commands)
    add_export_point_weights(commands)
    _add_pipelines(commands)
    cli_panda.add_export(commands)
    from panda_plugin.adapters.cli.dp import add_parser as add_dp_sweep

    add_dp_sweep(commands)
    return parser


def main(argv=None) -> int:
    """Run the ``panda`` command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status: 0 on success, 2 on bad input.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (['train'], ['test']) and argv[1:2] not in (['-h'], ['--help']):  # BasicSR parses its own options
        args = argparse.Namespace(command=argv[0], arguments=argv[1:], verbose=False, handler=pipeline_command,
                                  pipeline=argv[0])
    else:
        args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format='%(levelname)s %(name)s: %(message)s')
    try:
        with one_stop_per_press():
            return call_handler(args)
    except PandaInputError as error:
        print(f'panda {args.command}: error: {error}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'\npanda {args.command}: interrupted', file=sys.stderr)  # a progress bar may hold the line
        return 130


if __name__ == '__main__':
    sys.exit(main())
