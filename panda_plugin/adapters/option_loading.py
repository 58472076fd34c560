"""BasicSR's option parsing made safe: option files, ``--force_yml`` and ``parse_options``.

``install_safe_option_loading`` (run by ``import panda_plugin`` as soon as BasicSR is imported)
makes BasicSR's own option parsing safe for every caller, ``panda train``, ``panda test`` and
BasicSR's ``train_pipeline``/``test_pipeline`` alike:

- BasicSR's loader-and-dumper pair gives ``core.option_file.OptionLoader`` (no tag runs
  code, aliases and size are limited), and the loaded file must hold what BasicSR's
  ``parse_options`` reads (``option_checks.check_parse_needs``);
- ``parse_options`` in ``basicsr.train`` and ``basicsr.test`` is wrapped: before BasicSR's
  parser runs, the ``-opt`` file is read by ``core.option_file.load_option_file`` and its
  ``--force_yml`` keys are checked (``check_option_arguments``; BasicSR builds Python code from
  the keys and ``exec``s it), and once BasicSR has read the file the whole option tree is checked by
  ``option_checks.check_basicsr_options``;
- ``--force_yml`` values are read as YAML by the same loader (BasicSR ``eval``s them).

Every problem is one ``PandaInputError`` line.
"""
from __future__ import annotations

import argparse
import functools
import re
import sys
from collections import OrderedDict

import yaml

from panda_plugin.adapters.option_checks import check_basicsr_options, check_parse_needs, where_file
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.option_file import OptionLoader, load_option_file, load_options


def check_option_arguments(arguments: list[str]) -> None:
    """Read the ``-opt`` file of BasicSR's arguments safely and refuse what BasicSR could not
    parse, without importing torch or BasicSR (BasicSR reads it again through the same loader,
    then ``check_basicsr_options`` checks the whole tree).

    Args:
        arguments: BasicSR's arguments, e.g. ``['-opt', 'options/x.yml', '--auto_resume']``.
    """
    option_file = arguments[arguments.index('-opt') + 1] if '-opt' in arguments[:-1] else None
    if option_file is None:
        raise PandaInputError('no option file; give -opt PATH.yml')
    check_force_yml(arguments)
    check_parse_needs(load_option_file(option_file), where_file(option_file))


#: A key of ``--force_yml``: a plain name or an integer.
_PLAIN_KEY = re.compile(r'[A-Za-z_][A-Za-z0-9_]*|[0-9]+')


def check_force_yml(arguments: list[str]) -> None:
    """Refuse ``--force_yml`` entries BasicSR would turn into code: ``parse_options`` builds
    ``opt["key"]["sub"]=value`` from ``key:sub=value`` and ``exec``s it, so every key must be a
    plain name or an integer (and the entry hold one ``=``).

    Args:
        arguments: BasicSR's arguments (``sys.argv[1:]``), read as BasicSR's parser reads them.
    """
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)  # BasicSR 1.4.2's options
    for flag in ('-opt', '--launcher', '--local_rank'):
        parser.add_argument(flag)
    for flag in ('--auto_resume', '--debug'):
        parser.add_argument(flag, action='store_true')
    parser.add_argument('--force_yml', nargs='+', default=[])
    try:
        entries = parser.parse_known_args(arguments)[0].force_yml
    except argparse.ArgumentError:
        return  # BasicSR's own parser refuses these arguments before anything is applied
    accepted = 'KEY:SUB:...=VALUE, each key a plain name (letters, digits, _) or an integer'
    for entry in entries:
        if entry.count('=') != 1:
            raise PandaInputError(f'--force_yml entry {entry!r}; accepted: {accepted}')
        for key in entry.split('=')[0].strip().split(':'):
            if not _PLAIN_KEY.fullmatch(key):
                raise PandaInputError(f'--force_yml key {key!r} (in {entry!r}); accepted: {accepted}')


class BasicSRLoader(OptionLoader):
    """``OptionLoader`` in place of BasicSR's own option loader: also refuses a
    file that lacks what ``parse_options`` reads."""

    def __init__(self, stream):
        raw = getattr(stream, 'buffer', stream)  # BasicSR opens the file as text: read the bytes
        name = getattr(stream, 'name', None)
        super().__init__(raw, where_file(name) if name else 'option file')

    def get_single_data(self):
        """The checked top-level mapping."""
        options = super().get_single_data()
        if not isinstance(options, dict):
            kind = 'empty' if options is None else f'a {type(options).__name__}'
            raise PandaInputError(f'{self.where} is {kind} at the top level; accepted: a mapping of options '
                                  '(name:, model_type:, datasets:, ...)')
        check_parse_needs(options, self.where)
        return options


class OrderedDumper(yaml.SafeDumper):
    """Safe dumper that writes ``OrderedDict`` as a plain mapping, in its order."""


OrderedDumper.add_representer(OrderedDict, lambda dumper, data: dumper.represent_dict(data.items()))


def _safe_yaml_value(value: str):
    """``--force_yml`` value as YAML (BasicSR ``eval``s lists), with the option loader's limits."""
    return load_options(f'value: {value}', f'--force_yml value {value!r}')['value']


def install_safe_option_loading() -> None:
    """Make BasicSR's option parsing safe and checked (see the module docstring); idempotent."""
    import importlib

    options_module = importlib.import_module('basicsr.utils.options')
    if getattr(options_module.ordered_yaml, 'panda_safe', False):
        return
    def ordered_yaml():
        """The plugin's safe loader and a dumper that writes ordered mappings."""
        return BasicSRLoader, OrderedDumper

    ordered_yaml.panda_safe = True
    options_module.ordered_yaml = ordered_yaml
    options_module._postprocess_yml_value = _safe_yaml_value
    for name in ('basicsr.train', 'basicsr.test'):
        module = importlib.import_module(name)
        module.parse_options = _checked(module.parse_options)
    options_module.parse_options = _checked(options_module.parse_options)


def _checked(parse_options):
    if getattr(parse_options, 'panda_safe', False):
        return parse_options

    @functools.wraps(parse_options)
    def checked_parse_options(root_path, is_train=True):
        # BasicSR's parser reads sys.argv: the file is read safely and the keys checked before it runs
        check_option_arguments(sys.argv[1:])
        opt, args = parse_options(root_path, is_train=is_train)
        check_basicsr_options(opt, where_file(args.opt), is_train)
        return opt, args

    checked_parse_options.panda_safe = True
    return checked_parse_options
