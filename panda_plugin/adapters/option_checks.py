"""BasicSR option trees checked before BasicSR builds anything.

``check_parse_needs`` refuses a file that lacks what BasicSR's ``parse_options`` reads (a
mapping with ``name``, ``num_gpu``, ``datasets`` and ``path``); ``check_basicsr_options``
checks the whole tree once BasicSR has read it (and applied ``--force_yml``), before the
pipeline creates any folder, loads any data or builds any network. The safe reading itself is
``adapters.option_loading``.

Every problem is one ``PandaInputError`` line with the file, the key path and what is accepted.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.options import check_call_options

#: Model types that fill in their own loss type when ``train.loss_opt`` has none.
_DEFAULT_LOSS_MODELS = ('ClickBoundaryModel', 'PanopticSegmenterModel')
#: Keys BasicSR adds to a dataset's options itself.
_BASICSR_DATASET_KEYS = ('phase', 'scale')


def where_file(path) -> str:
    """How messages name an option file."""
    return f'option file {str(path)!r}'


def check_parse_needs(options: dict, where: str) -> None:
    """Refuse options BasicSR's ``parse_options`` cannot read: it indexes ``name``, ``num_gpu``,
    ``datasets`` (a mapping of mappings) and ``path`` (a mapping) without defaults.

    Args:
        options: The top-level mapping.
        where: The file, for messages.
    """
    _require(options, 'name', str, where, 'a run name such as my_run')
    name = options['name']
    if not name or name in ('.', '..') or any(c in name for c in '/\\\0'):
        raise PandaInputError(f'{where}: name = {name!r}; accepted: a folder name (no /, \\ or ..)')
    _require(options, 'model_type', str, where, 'a BasicSR model type such as PandaModel or PandaSRModel')
    num_gpu = options.get('num_gpu', _MISSING)
    if num_gpu is _MISSING:
        raise PandaInputError(f'{where}: num_gpu is missing; accepted: 0 (CPU), a number of GPUs, or auto')
    if num_gpu != 'auto' and (isinstance(num_gpu, bool) or not isinstance(num_gpu, int) or num_gpu < 0):
        raise PandaInputError(f'{where}: num_gpu = {num_gpu!r}; accepted: 0 (CPU), a number of GPUs, or auto')
    datasets = _require(options, 'datasets', dict, where, 'a mapping of phases (train:, val:, test_1:) to '
                                                          'dataset options')
    if not datasets:
        raise PandaInputError(f'{where}: datasets is empty; accepted: at least one dataset (train:, val: or test_1:)')
    for phase, dataset in datasets.items():
        if not isinstance(dataset, dict):
            raise PandaInputError(f'{where}: datasets.{phase} = {dataset!r}; accepted: a mapping of dataset options')
        if str(phase).split('_')[0] not in ('train', 'val', 'test'):
            raise PandaInputError(f'{where}: datasets.{phase}: unknown phase; accepted: train, val, val_N, test, '
                                  'test_N')
    options.setdefault('path', {})
    _require(options, 'path', dict, where, 'a mapping (pretrain_network_g:, resume_state:, ...)')


_MISSING = object()


def _require(block: dict, key: str, kind, where: str, accepted: str, prefix: str = ''):
    value = block.get(key, _MISSING)
    if value is _MISSING or value is None:
        raise PandaInputError(f'{where}: {prefix}{key} is missing; accepted: {accepted}')
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PandaInputError(f'{where}: {prefix}{key} = {value!r}; accepted: {accepted}')
    return value


def check_basicsr_options(options: dict, where: str, is_train: bool) -> None:
    """Check a parsed BasicSR option tree for the plugin's and BasicSR's needs, before the
    pipeline builds anything: registered types, arch and loss keyword types, data folders and
    checkpoints that exist and load without pickle, and the blocks each pipeline indexes.

    Args:
        options: The options as ``parse_options`` returns them.
        where: The file, for messages.
        is_train: Training (``train_pipeline``) or testing (``test_pipeline``).
    """
    from basicsr.utils.registry import (
        ARCH_REGISTRY,
        DATASET_REGISTRY,
        LOSS_REGISTRY,
        METRIC_REGISTRY,
        MODEL_REGISTRY,
    )

    check_parse_needs(options, where)
    model_type = options['model_type']
    _registered(MODEL_REGISTRY, model_type, 'model_type', where)
    model_class = MODEL_REGISTRY.get(model_type)
    if is_train and 'train' not in options['datasets']:
        raise PandaInputError(f'{where}: datasets.train is missing; accepted: a train: dataset (and val: ones)')
    for phase, dataset in options['datasets'].items():
        _check_dataset(dataset, f'datasets.{phase}.', str(phase).split('_')[0], where, DATASET_REGISTRY)
    if getattr(model_class, 'builds_network_g', True) or 'network_g' in options:
        network = _require(options, 'network_g', dict, where, 'a mapping with type: and the arch options')
        _require(network, 'type', str, where, 'an arch name such as PANDA or MSRResNet', 'network_g.')
        _registered(ARCH_REGISTRY, network['type'], 'network_g.type', where)
        check_call_options(ARCH_REGISTRY.get(network['type']), network, 'network_g.', where)
        if network['type'] == 'PANDA':
            _check_panda_network(network, options['datasets'], where)
    if hasattr(model_class, 'check_options'):  # the model's own checks of its blocks
        try:
            model_class.check_options(options)
        except PandaInputError as error:
            raise PandaInputError(f'{where}: {error}') from None
    for key in ('pretrain_network_g', 'resume_state'):
        value = options['path'].get(key)
        if value is not None:
            if not isinstance(value, str):
                raise PandaInputError(f'{where}: path.{key} = {value!r}; accepted: a file path or ~')
            from panda_plugin.engine.checkpoints import check_tensors_file

            check_tensors_file(os.path.expanduser(value), f'{where}: path.{key}')
    from basicsr.models.sr_model import SRModel

    sr_like = isinstance(model_class, type) and issubclass(model_class, SRModel)
    val = options.get('val')
    if val is not None and not isinstance(val, dict):
        raise PandaInputError(f'{where}: val = {val!r}; accepted: a mapping (val_freq:, save_img:, metrics:)')
    if not is_train:
        val = _require(options, 'val', dict, where, 'a mapping with save_img: and metrics:')
    if val is not None:
        _check_val(val, where, is_train, sr_like, METRIC_REGISTRY)
    if is_train:
        _check_train(options, where, model_type, LOSS_REGISTRY)


def _registered(registry, name, key: str, where: str) -> None:
    if name not in registry:
        import difflib

        names = sorted(registry._obj_map)
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        raise PandaInputError(f'{where}: {key} = {name!r} is not registered in BasicSR{hint}; accepted: '
                              f'{", ".join(names) if len(names) <= 12 else "e.g. " + ", ".join(names[:12])}')


def _check_dataset(dataset: dict, prefix: str, phase: str, where: str, registry) -> None:
    _require(dataset, 'name', str, where, 'a dataset name', prefix)
    _require(dataset, 'type', str, where, 'a dataset type such as PairedImageDataset or PandaSetDataset', prefix)
    _registered(registry, dataset['type'], f'{prefix}type', where)
    roots = [key for key in dataset if str(key).startswith('dataroot')]
    wanted = {'PairedImageDataset': ('dataroot_gt', 'dataroot_lq'), 'SingleImageDataset': ('dataroot_lq',),
              'PandaSetDataset': ('dataroot',), 'PointsDataset': ('dataroot',)}.get(dataset['type'], ())
    for key in wanted:
        if dataset.get(key) is None:
            raise PandaInputError(f'{where}: {prefix}{key} is missing; accepted: the {dataset["type"]} data '
                                  f'folder{_data_hint(dataset["type"], None)}')
    from_basicsr = registry.get(dataset['type']).__module__.startswith('basicsr.')
    backend = dataset.get('io_backend', _MISSING if from_basicsr else {'type': 'disk'})
    if backend is _MISSING:
        raise PandaInputError(f'{where}: {prefix}io_backend is missing; accepted: a mapping such as {{type: disk}}')
    if not isinstance(backend, dict) or not isinstance(backend.get('type'), str):
        raise PandaInputError(f'{where}: {prefix}io_backend = {backend!r}; accepted: a mapping such as {{type: disk}}')
    for key in roots:
        value = dataset[key]
        paths = value if isinstance(value, list) else [value]
        if not paths or not all(isinstance(p, str) for p in paths):
            raise PandaInputError(f'{where}: {prefix}{key} = {value!r}; accepted: a folder path (or a list of them)')
        for path in paths:
            if not Path(os.path.expanduser(path)).exists():
                raise PandaInputError(f'{where}: {prefix}{key} = {path!r} does not exist'
                                      f'{_data_hint(dataset["type"], path)}')
    if phase == 'train' and dataset['type'] == 'PairedImageDataset':
        _require(dataset, 'gt_size', int, where, 'the training crop size in pixels (e.g. 128)', prefix)
        for key in ('use_hflip', 'use_rot'):
            _require(dataset, key, bool, where, 'true or false', prefix)
    if phase == 'train':
        for key in ('batch_size_per_gpu', 'num_worker_per_gpu'):
            value = _require(dataset, key, int, where, 'an integer', prefix)
            if value < (1 if key == 'batch_size_per_gpu' else 0):
                raise PandaInputError(f'{where}: {prefix}{key} = {value!r}; accepted: an integer >= '
                                      f'{1 if key == "batch_size_per_gpu" else 0}')


def _data_hint(kind: str, path: str | None) -> str:
    if kind in ('PairedImageDataset', 'SingleImageDataset'):
        parts = Path(path).parts if path else ()
        root = str(Path(*parts[:parts.index(next(p for p in parts if p in ('train', 'val')))])) \
            if any(p in ('train', 'val') for p in parts[1:]) else 'datasets/bundled_sr'
        return f'; for the example data run `panda make-sr-data --out {root}` first'
    if kind == 'PandaSetDataset':
        return '; create it with `panda make-dataset --images ... --out PATH` (docs/training.md)'
    if kind == 'PointsDataset':
        return '; create it with `panda make-points-data --out PATH` (docs/points.md)'
    return ''


def _check_panda_network(network: dict, datasets: dict, where: str) -> None:
    from panda_plugin.engine.panda.weights import check_encoder_name

    check_encoder_name(network.get('encoder', 'resnet18'), f'{where}: network_g')
    checkpoint = network.get('encoder_checkpoint')
    if checkpoint is not None:
        from panda_plugin.engine.checkpoints import check_tensors_file

        check_tensors_file(os.path.expanduser(str(checkpoint)), f'{where}: network_g.encoder_checkpoint')
    tokens = network.get('tokens', 128)
    for phase, dataset in datasets.items():
        limit = dataset.get('max_regions', 128)
        if dataset.get('type') == 'PandaSetDataset' and isinstance(limit, int) and limit > tokens:
            raise PandaInputError(f'{where}: network_g.tokens = {tokens} is below datasets.{phase}.max_regions = '
                                  f'{limit}; accepted: tokens >= max_regions (one token per region)')


def _check_val(val: dict, where: str, is_train: bool, sr_like: bool, metrics_registry) -> None:
    if is_train:
        frequency = _require(val, 'val_freq', (int, float), where, 'a number of iterations', 'val.')
        if isinstance(frequency, bool) or frequency <= 0:
            raise PandaInputError(f'{where}: val.val_freq = {frequency!r}; accepted: a number of iterations > 0')
    save = val.get('save_img', _MISSING)
    if save is _MISSING or not isinstance(save, bool):
        shown = 'is missing' if save is _MISSING else f'= {save!r}'
        raise PandaInputError(f'{where}: val.save_img {shown}; accepted: true or false')
    if sr_like and save and not is_train and 'suffix' not in val:
        raise PandaInputError(f'{where}: val.suffix is missing (save_img is true); accepted: a string added to '
                              'the saved image names, or ~ for the run name')
    metrics = val.get('metrics') or {}
    if not isinstance(metrics, dict):
        raise PandaInputError(f'{where}: val.metrics = {metrics!r}; accepted: a mapping of metric names to options')
    for name, metric in metrics.items():
        if not isinstance(metric, dict):
            raise PandaInputError(f'{where}: val.metrics.{name} = {metric!r}; accepted: a mapping of metric options')
        if sr_like or 'type' in metric:
            _require(metric, 'type', str, where, 'a metric such as calculate_psnr or calculate_panda',
                     f'val.metrics.{name}.')
            _registered(metrics_registry, metric['type'], f'val.metrics.{name}.type', where)
            needed = [n for n, p in list(inspect.signature(metrics_registry.get(metric['type'])).parameters.items())[2:]
                      if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
            for key in needed:
                if key not in metric:
                    raise PandaInputError(f'{where}: val.metrics.{name}.{key} is missing; accepted: the '
                                          f'{metric["type"]} option {key} (e.g. crop_border: 4)')
        if metric.get('type') == 'calculate_panda':
            from panda_plugin.adapters.basicsr.metric import (
                check_calculate_panda_options,
            )

            try:
                check_calculate_panda_options(f'val.metrics.{name}', {k: v for k, v in metric.items() if k != 'type'})
            except PandaInputError as error:
                raise PandaInputError(f'{where}: {error}') from None


def _check_train(options: dict, where: str, model_type: str, loss_registry) -> None:
    train = _require(options, 'train', dict, where, 'a mapping with optim_g:, total_iter: and the losses')
    total = _require(train, 'total_iter', int, where, 'an integer number of iterations >= 1', 'train.')
    if total < 1:
        raise PandaInputError(f'{where}: train.total_iter = {total!r}; accepted: an integer >= 1')
    optimizer = _require(train, 'optim_g', dict, where, 'a mapping such as {type: Adam, lr: !!float 1e-4}', 'train.')
    _require(optimizer, 'type', str, where, 'an optimizer such as Adam', 'train.optim_g.')
    for key, block in train.items():
        if not str(key).endswith('_opt') or block is None:
            continue
        if not isinstance(block, dict):
            raise PandaInputError(f'{where}: train.{key} = {block!r}; accepted: a mapping with type: and the '
                                  'loss options')
        if 'type' not in block and key == 'loss_opt' and model_type in _DEFAULT_LOSS_MODELS:
            continue
        if block or key != 'loss_opt':
            _require(block, 'type', str, where, 'a loss such as PandaRegionLoss or L1Loss', f'train.{key}.')
            _registered(loss_registry, block['type'], f'train.{key}.type', where)
            check_call_options(loss_registry.get(block['type']), block, f'train.{key}.', where)
    logger = _require(options, 'logger', dict, where, 'a mapping with print_freq: and save_checkpoint_freq:')
    for key in ('print_freq', 'save_checkpoint_freq'):
        value = _require(logger, key, int, where, 'an integer >= 1', 'logger.')
        if value < 1:
            raise PandaInputError(f'{where}: logger.{key} = {value!r}; accepted: an integer >= 1')
