"""Trained PANDA weights: finding, loading and exporting them, never over the network.

Weights are safetensors files whose metadata holds the arch options (``panda_config``), so a
file alone rebuilds its network. BasicSR checkpoints (``.pth``) load with
``weights_only=True`` and the arch options given by the caller. The arch options may only name
an encoder that timm builds offline (a plain timm model name, no ``hf-hub:`` or URL); anything
else is refused before timm is called, and an encoder checkpoint named in them is not read (the
file's own tensors replace the encoder's).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch
from safetensors.torch import save_file

from panda_plugin.core.atomic import atomic_path, check_output
from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.option_file import load_option_file
from panda_plugin.engine.checkpoints import load_tensors, safetensors_out
from panda_plugin.engine.panda.models.panda_arch import PANDA
from panda_plugin.engine.shipped import SHIPPED, read_weights, shipped_names

#: Name of the default shipped weights.
DEFAULT_WEIGHTS = 'panda-tiny'
#: Environment variable that overrides the default weights with a local file.
WEIGHTS_VARIABLE = 'PANDA_WEIGHTS'
#: A timm model name with an optional pretrained tag (``resnet18``, ``convnext_tiny.fb_in1k``).
_TIMM_NAME = re.compile(r'[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?')


def check_device(device):
    """Refuse a torch device this machine does not have, before anything is loaded.

    Args:
        device: None, a ``torch.device`` or its name (``'cpu'``, ``'cuda'``, ``'cuda:1'``).

    Returns:
        The ``torch.device`` (None for None).
    """
    if device is None:
        return None
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise PandaInputError(f"device {device!r} is not a torch device; accepted: 'cpu', 'cuda', "
                              "'cuda:N'") from None
    if parsed.type == 'cuda':
        if not torch.cuda.is_available():
            why = 'this torch build has no CUDA' if torch.version.cuda is None else 'no CUDA GPU was found'
            raise PandaInputError(f'device {str(device)!r} requested but CUDA is not available '
                                  f"({why}); accepted here: 'cpu'")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise PandaInputError(f'device {str(device)!r}: this machine has '
                                  f'{torch.cuda.device_count()} CUDA device(s); accepted: cuda:0.. '
                                  f'cuda:{torch.cuda.device_count() - 1}')
    elif parsed.type != 'cpu':
        backend = getattr(torch.backends, parsed.type, None) or getattr(torch, parsed.type, None)
        if not getattr(backend, 'is_available', lambda: False)():
            raise PandaInputError(f'device {str(device)!r} is not available on this machine; '
                                  "accepted here: 'cpu'")
    return parsed


def check_offline_config(config, where: str) -> dict:
    """Arch options that build without the network: a timm encoder name and no checkpoint.

    Args:
        config: Arch options (``network_g`` without ``type``).
        where: The file they come from, for messages.

    Returns:
        A copy without ``encoder_checkpoint`` (the weights replace the encoder's anyway).
    """
    if not isinstance(config, dict):
        raise PandaInputError(f'{where}: arch options are a {type(config).__name__}; accepted: a '
                              'JSON object of PANDA options')
    check_encoder_name(config.get('encoder', 'resnet18'), where)
    return {key: value for key, value in config.items() if key != 'encoder_checkpoint'}


def check_encoder_name(encoder, where: str) -> None:
    """Refuse an encoder name that timm could not build offline (hub names, URLs, unknown names),
    before timm is asked for it.

    Args:
        encoder: The ``encoder`` option.
        where: The option's place, for messages (e.g. ``"weights 'x.safetensors'"``).
    """
    if not isinstance(encoder, str) or not _TIMM_NAME.fullmatch(encoder):
        raise PandaInputError(f'{where}: encoder {encoder!r} does not build offline; accepted: a '
                              'timm model name such as resnet18 (no hf-hub: or URL names)')
    import timm

    if not timm.is_model(encoder.split('.')[0]):
        raise PandaInputError(f'{where}: encoder {encoder!r} is not a timm model of this timm '
                              f'({timm.__version__}); accepted: a name from timm.list_models()')


def resolve_weights(name_or_path: str | os.PathLike = DEFAULT_WEIGHTS) -> Path:
    """The file behind a weights name or path.

    A shipped name (``'panda-tiny'``) is replaced by ``$PANDA_WEIGHTS`` when that is set.

    Args:
        name_or_path: A shipped name or a path to a ``.safetensors`` / ``.pth`` file.

    Returns:
        Path of an existing file.
    """
    text = os.fspath(name_or_path)
    shipped = shipped_names()
    if text in shipped or text == DEFAULT_WEIGHTS:
        override = os.environ.get(WEIGHTS_VARIABLE)
        path = Path(override) if override else SHIPPED / f'{text}.safetensors'
        where = f'${WEIGHTS_VARIABLE}={override!r}' if override else f'shipped weights {text!r}'
    else:
        path, where = Path(text), f'weights file {text!r}'
    if not path.is_file():
        raise PandaInputError(f'{where} not found at {str(path)!r}; accepted: a shipped name '
                              f'({", ".join(shipped) or "none installed"}) or a path to a '
                              '.safetensors or BasicSR .pth file')
    return path


def load_model(name_or_path: str | os.PathLike = DEFAULT_WEIGHTS, device='cpu',
               config: dict | None = None) -> PANDA:
    """Build PANDA with trained weights, in eval mode.

    Args:
        name_or_path: ``'panda-tiny'`` (shipped; ``$PANDA_WEIGHTS`` overrides it), or a path to
            a ``.safetensors`` file written by ``export_weights`` or a BasicSR ``.pth``
            checkpoint. Default: ``'panda-tiny'``.
        device: Torch device. Default: ``'cpu'``.
        config: Arch options (``network_g`` without ``type``) for a ``.pth`` checkpoint;
            ignored for safetensors, which carry their own. Default: PANDA's defaults.

    Returns:
        The network, on ``device``, in eval mode.
    """
    check_device(device)
    path = resolve_weights(name_or_path)
    if path.suffix == '.safetensors':
        config, state = read_safetensors(path)
    else:
        state = _read_checkpoint(path)
    config = check_offline_config(config or {}, f'weights {str(path)!r}')
    try:
        network = PANDA(**(config or {}))
        network.load_state_dict(state)
    except (TypeError, RuntimeError) as error:
        raise PandaInputError(f'weights {str(path)!r} do not fit PANDA with options {config}: '
                              f'{str(error).splitlines()[0]}') from None
    network.weights_name = path.stem
    network.panda_config = dict(config)
    return network.to(device).eval()


def read_safetensors(path: Path) -> tuple[dict, dict]:
    """Arch options and tensors of a weights file.

    Args:
        path: A ``.safetensors`` file written by ``export_weights``.

    Returns:
        (arch options, state dict).
    """
    state, metadata = read_weights(path)
    if 'panda_config' not in metadata:
        raise PandaInputError(f'weights file {str(path)!r} has no panda_config metadata; '
                              'write it with `panda export-weights`')
    try:
        config = json.loads(metadata['panda_config'])
    except json.JSONDecodeError as error:
        raise PandaInputError(f'weights file {str(path)!r}: panda_config metadata is not JSON '
                              f'({error}); write it with `panda export-weights`') from None
    return config, state


def _read_checkpoint(path: Path) -> dict:
    checkpoint = load_tensors(path)
    for key in ('params_ema', 'params'):
        if isinstance(checkpoint, dict) and key in checkpoint:
            return checkpoint[key]
    return checkpoint


def network_options(option_file: str | os.PathLike) -> dict:
    """The ``network_g`` options of a BasicSR option file, without ``type``.

    Args:
        option_file: A training option file with ``network_g: {type: PANDA, ...}``.

    Returns:
        Keyword arguments of ``PANDA``.
    """
    network = load_option_file(option_file).get('network_g')
    if not isinstance(network, dict) or network.get('type') != 'PANDA':
        kind = network.get('type') if isinstance(network, dict) else network
        raise PandaInputError(f'option file {str(option_file)!r}: network_g.type is {kind!r}; accepted: PANDA')
    return {key: value for key, value in network.items() if key != 'type'}


def export_weights(checkpoint: str | os.PathLike, option_file: str | os.PathLike,
                   out: str | os.PathLike) -> Path:
    """Convert a BasicSR checkpoint of PANDA into a self-describing safetensors file.

    The file is written atomically (``core.atomic``), with the mode a plain ``open`` gives.

    Args:
        checkpoint: ``net_g_<iter>.pth`` written by ``panda train``.
        option_file: The option file it was trained with (for the arch options).
        out: Destination ``.safetensors`` path.

    Returns:
        The written path.
    """
    out = safetensors_out(out)
    check_output(out, '--out weights file')
    config = network_options(option_file)
    network = load_model(checkpoint, config=config)
    state = {k: v.contiguous() for k, v in network.state_dict().items()}
    with atomic_path(out, 'weights file') as temporary:
        save_file(state, str(temporary), metadata={'panda_config': json.dumps(config, sort_keys=True)})
    return out
