"""BasicSR's option parsing made safe: option files, ``--force_yml`` and ``parse_options``.

``install_safe_option_loading`` (run by ``import panda_plugin`` as soon as BasicSR is imported)
makes BasicSR's own option parsing safe for every caller, ``panda train``, ``panda test`` and
BasicSR's ``train_pipeline``/``test_pipeline`` alike:

- ``parse_options`` in ``basicsr.utils.options``, ``basicsr.train`` and ``basicsr.test`` is
  replaced by the plugin's ``parse_basicsr_options``: the ``-opt`` file is read by
  ``core.option_file.load_option_file`` (no tag runs code, aliases and size are limited) and
  must hold what BasicSR reads (``option_checks.check_parse_needs``), ``--force_yml`` keys must
  be plain names (``check_force_yml``; BasicSR's own parser builds Python code from them and
  ``exec``s it) and their values are read as safe YAML and assigned, and the whole option tree
  is checked (``option_checks.check_basicsr_options``); BasicSR's YAML parsing never runs;
- the loader-and-dumper pair that BasicSR offers other readers of option files is replaced by
  ``safe_loader_pair``: ``BasicSRLoader`` (the same safe loader) and a safe dumper.

Every problem is one ``PandaInputError`` line.
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import random
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
    """Refuse ``--force_yml`` entries that are not ``KEY:SUB:...=VALUE`` with plain keys: BasicSR's
    own parser builds ``opt["key"]["sub"]=value`` from ``key:sub=value`` and ``exec``s it, so
    every key must be a plain name or an integer (and the entry hold one ``=``).

    Args:
        arguments: BasicSR's arguments (``sys.argv[1:]``), read as BasicSR's parser reads them.
    """
    try:
        entries = basicsr_arguments(lenient=True).parse_known_args(arguments)[0].force_yml or []
    except argparse.ArgumentError:
        return  # BasicSR's argument parser refuses these arguments before anything is applied
    accepted = 'KEY:SUB:...=VALUE, each key a plain name (letters, digits, _) or an integer'
    for entry in entries:
        if entry.count('=') != 1:
            raise PandaInputError(f'--force_yml entry {entry!r}; accepted: {accepted}')
        for key in entry.split('=')[0].strip().split(':'):
            if not _PLAIN_KEY.fullmatch(key):
                raise PandaInputError(f'--force_yml key {key!r} (in {entry!r}); accepted: {accepted}')


def basicsr_arguments(lenient: bool = False) -> argparse.ArgumentParser:
    """The arguments of BasicSR's (1.4.2) ``parse_options``.

    Args:
        lenient: Without help, without a required ``-opt`` and raising ``ArgumentError`` instead
            of exiting (for reading the arguments before BasicSR does).

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(add_help=not lenient, exit_on_error=not lenient)
    parser.add_argument('-opt', type=str, required=not lenient, help='Path to option YAML file.')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none', help='job launcher')
    parser.add_argument('--auto_resume', action='store_true')
    parser.add_argument('--debug', action='store_true')
    parser.add_argument('--local_rank', type=int, default=0)
    parser.add_argument('--force_yml', nargs='+', default=None,
                        help='Force to update yml files. Examples: train:ema_decay=0.999')
    return parser


def parse_basicsr_options(root_path: str, is_train: bool = True) -> tuple[OrderedDict, argparse.Namespace]:
    """BasicSR's ``parse_options`` without its unsafe parts: the ``-opt`` file is read by
    ``load_option_file`` (no tag runs code) and ``--force_yml`` entries are checked
    (``check_force_yml``), read as safe YAML values and assigned, never ``exec``ed; the rest
    (distributed settings, seed, debug name, dataset phases, paths) is BasicSR's, step for
    step. The option tree is checked (``check_basicsr_options``) before it is returned.

    Args:
        root_path: Where BasicSR puts ``experiments/`` (training) or ``results/`` (testing).
        is_train: Training or testing options.

    Returns:
        ``(options, arguments)`` as BasicSR's ``parse_options`` returns them.
    """
    import torch
    from basicsr.utils import options as basicsr_options  # its globals, as the plugin's CPU fallbacks set them

    check_force_yml(sys.argv[1:])
    args = basicsr_arguments().parse_args()
    where = where_file(args.opt)
    opt = load_option_file(args.opt)
    check_parse_needs(opt, where)

    if args.launcher == 'none':
        opt['dist'] = False
        logging.getLogger(__name__).info('Disable distributed.')
    else:
        opt['dist'] = True
        if args.launcher == 'slurm' and 'dist_params' in opt:
            basicsr_options.init_dist(args.launcher, **opt['dist_params'])
        else:
            basicsr_options.init_dist(args.launcher)
    opt['rank'], opt['world_size'] = basicsr_options.get_dist_info()

    seed = opt.get('manual_seed')
    if seed is None:
        seed = random.randint(1, 10000)
        opt['manual_seed'] = seed
    basicsr_options.set_random_seed(seed + opt['rank'])

    for entry in args.force_yml or []:
        keys, value = (part.strip() for part in entry.split('='))
        *parents, last = keys.split(':')
        target = opt
        for key in parents:
            target = target[key]
        target[last] = _safe_yaml_value(value)

    opt['auto_resume'] = args.auto_resume
    opt['is_train'] = is_train
    if args.debug and not opt['name'].startswith('debug'):
        opt['name'] = 'debug_' + opt['name']
    if opt['num_gpu'] == 'auto':
        opt['num_gpu'] = torch.cuda.device_count()

    for phase, dataset in opt['datasets'].items():  # val_1, val_2, test_1: phase val, test
        dataset['phase'] = phase.split('_')[0]
        if 'scale' in opt:
            dataset['scale'] = opt['scale']
        for root in ('dataroot_gt', 'dataroot_lq'):
            if dataset.get(root) is not None:
                dataset[root] = os.path.expanduser(dataset[root])
    for key, value in opt['path'].items():
        if value is not None and ('resume_state' in key or 'pretrain_network' in key):
            opt['path'][key] = os.path.expanduser(value)

    if is_train:
        experiments_root = os.path.join(root_path, 'experiments', opt['name'])
        opt['path'].update(experiments_root=experiments_root, models=os.path.join(experiments_root, 'models'),
                           training_states=os.path.join(experiments_root, 'training_states'), log=experiments_root,
                           visualization=os.path.join(experiments_root, 'visualization'))
        if 'debug' in opt['name']:
            if 'val' in opt:
                opt['val']['val_freq'] = 8
            opt['logger']['print_freq'] = 1
            opt['logger']['save_checkpoint_freq'] = 8
    else:
        results_root = os.path.join(root_path, 'results', opt['name'])
        opt['path'].update(results_root=results_root, log=results_root,
                           visualization=os.path.join(results_root, 'visualization'))
    check_basicsr_options(opt, where, is_train)
    return opt, args


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


def safe_loader_pair() -> tuple[type, type]:
    """What BasicSR's loader-and-dumper pair gives once installed: the plugin's safe loader and a
    safe dumper that writes ordered mappings."""
    return BasicSRLoader, OrderedDumper


safe_loader_pair.panda_safe = True


def _safe_yaml_value(value: str):
    """``--force_yml`` value as YAML (BasicSR ``eval``s lists), with the option loader's limits."""
    return load_options(f'value: {value}', f'--force_yml value {value!r}')['value']


def install_safe_option_loading() -> None:
    """Make BasicSR's option parsing safe and checked (see the module docstring); idempotent."""
    import importlib

    options_module = importlib.import_module('basicsr.utils.options')
    if getattr(options_module.ordered_yaml, 'panda_safe', False):
        return

    @functools.wraps(options_module.parse_options)
    def safe_parse_options(root_path, is_train=True):
        return parse_basicsr_options(root_path, is_train)

    options_module.ordered_yaml = safe_loader_pair
    for module in (options_module, importlib.import_module('basicsr.train'), importlib.import_module('basicsr.test')):
        module.parse_options = safe_parse_options
