"""From argparse to typed calls: every ``panda`` sub-command is a plain function with named
parameters (callable from Python without argparse); its parser's destinations are those names.

``set_handler`` makes a function a sub-command's handler and its keyword defaults the parser's
defaults (one source); ``call_handler`` unpacks the parsed arguments once into that call.
Also the argument types the commands share.
"""
from __future__ import annotations

import argparse
import inspect
from typing import Callable


def set_handler(parser: argparse.ArgumentParser, function: Callable, **fixed) -> None:
    """Make ``function`` the handler of a sub-command.

    Args:
        parser: The sub-command's parser; its destinations are the names of ``function``'s
            parameters.
        function: The command, e.g. ``compare_command(anchor, target, *, masks=None, ...)``.
        **fixed: Values of parameters that no option sets (e.g. ``pipeline='train'``).
    """
    defaults = {name: parameter.default for name, parameter in inspect.signature(function).parameters.items()
                if parameter.default is not inspect.Parameter.empty}
    parser.set_defaults(handler=function, **defaults, **fixed)


def add_export_command(commands, name: str, help: str, function: Callable) -> None:
    """Add a sub-command that turns a ``panda train`` checkpoint into a safetensors file.

    Args:
        commands: The sub-parsers of the ``panda`` parser.
        name: The sub-command, e.g. ``'export-weights'``.
        help: Its one-line help.
        function: Its handler, ``function(checkpoint, *, opt, out)``.
    """
    parser = commands.add_parser(name, help=help)
    parser.add_argument('checkpoint', help='net_g_<iter>.pth written by panda train')
    parser.add_argument('--opt', required=True, help='the option file it was trained with')
    parser.add_argument('--out', required=True, help='destination .safetensors file')
    set_handler(parser, function)


def call_handler(args: argparse.Namespace) -> int:
    """Call the handler of the parsed sub-command with the arguments it names.

    Args:
        args: Parsed arguments with ``handler`` (see ``set_handler``).

    Returns:
        The handler's exit status.
    """
    names = inspect.signature(args.handler).parameters
    return args.handler(**{name: getattr(args, name) for name in names})


def shard(text: str) -> tuple[int, int]:
    """``--shard I/N``: build the I-th of N shards."""
    try:
        index, count = (int(part) for part in text.split('/'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'shard {text!r} is not I/N (e.g. 0/4)') from None
    return index, count
