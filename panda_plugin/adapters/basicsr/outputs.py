"""Where BasicSR writes a validated image, and the plugin its distortion graph beside it."""
from __future__ import annotations

import os


def visualization_stem(opt: dict, dataset_name: str, image_name: str, current_iter) -> str:
    """The path, without ``.png``, of the image ``SRModel.nondist_validation`` saves.

    Training runs write ``visualization/<image>/<image>_<iter>.png``; test runs
    (``basicsr.test.test_pipeline``, ``panda test``) write
    ``visualization/<dataset>/<image>_<val.suffix or name>.png`` under ``results/<name>/``.

    Args:
        opt: The run's BasicSR options.
        dataset_name: Name of the validated dataset.
        image_name: Image file name without extension.
        current_iter: The iteration (test runs pass the run's name).

    Returns:
        The path without extension.
    """
    folder = opt['path']['visualization']
    if opt['is_train']:
        return os.path.join(folder, image_name, f'{image_name}_{current_iter}')
    suffix = (opt.get('val') or {}).get('suffix') or opt['name']
    return os.path.join(folder, dataset_name, f'{image_name}_{suffix}')


def graph_json_path(opt: dict, dataset_name: str, image_name: str, current_iter) -> str:
    """``<visualization stem>_panda.json``: the graph file beside BasicSR's validation image."""
    return visualization_stem(opt, dataset_name, image_name, current_iter) + '_panda.json'
