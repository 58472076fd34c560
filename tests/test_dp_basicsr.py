"""``DPRestorationModel`` and ``ReferenceImageDataset`` through BasicSR's test pipeline."""
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from panda_plugin.adapters.cli import main
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.data.reference_images import read_images
from panda_plugin.engine.dp.patch_prior import PatchGMMPrior, fit_patch_gmm, sample_patches
from panda_plugin.engine.dp.sweep import SweepSettings, run_sweep
from panda_plugin.engine.image_io import load_image, save_image, square_crop

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip('basicsr')


pytestmark = pytest.mark.usefixtures('one_torch_thread')


def test_panda_test_runs_the_sr_option_file_on_a_32px_image_as_dp_sweep_does(tmp_path, small_astronaut, monkeypatch):
    prior = PatchGMMPrior(fit_patch_gmm(sample_patches([small_astronaut], 4, 200), 2, 3), 4).save(tmp_path / 'p.npz')
    (tmp_path / 'images').mkdir()
    save_image(tmp_path / 'images' / 'astronaut.png', square_crop(small_astronaut, 32))
    opt = yaml.safe_load((ROOT / 'options' / 'test_dp_sr4.yml').read_text())
    opt['name'] = 'dp_tiny'
    opt['datasets']['test_1'].update(images=str(tmp_path / 'images'), size=32, names=None)
    opt['dp'].update(steps=3, prior=str(prior))
    opt['val']['metrics'].pop('panda')
    (tmp_path / 'tiny.yml').write_text(yaml.safe_dump(opt))
    monkeypatch.chdir(tmp_path)
    assert main(['test', '-opt', str(tmp_path / 'tiny.yml')]) == 0
    log = next((tmp_path / 'results' / 'dp_tiny').glob('test_dp_tiny_*.log')).read_text()
    logged = float(re.search(r'# psnr: ([\d.]+)', log).group(1))
    restored = load_image(tmp_path / 'results' / 'dp_tiny' / 'visualization' / 'bench4' / 'astronaut_dp_tiny.png')
    assert restored.shape == (32, 32, 3)
    # the same restoration as panda dp-sweep's at this lambda, seed and prior
    from panda_plugin.engine.dp.patch_prior import load_patch_prior

    sweep = run_sweep(read_images(tmp_path / 'images', 32), load_patch_prior(prior),
                      SweepSettings('sr:4', (0.5,), 3))
    expected = sweep.images['astronaut']['lambda=0.5']
    assert np.abs(restored.astype(int) - expected.astype(int)).max() <= 1
    assert logged == pytest.approx(sweep.report['runs']['lambda=0.5']['mean']['psnr'], abs=0.05)


def test_dp_model_validates_like_the_other_plugin_models():
    from panda_plugin.adapters.basicsr.dp_model import DPRestorationModel
    from panda_plugin.adapters.basicsr.final_validation import FinalValidationMixin
    from panda_plugin.adapters.basicsr.panda_model import PandaModel
    from panda_plugin.adapters.basicsr.sr_model import PandaSRModel

    for model in (DPRestorationModel, PandaSRModel, PandaModel):
        assert model.validation is FinalValidationMixin.validation, model
    # the mixin comes before BasicSR's models, so its validation is the one BasicSR calls
    order = DPRestorationModel.__mro__
    assert order.index(FinalValidationMixin) < order.index(next(c for c in order if c.__name__ == 'SRModel'))


def test_dp_options_are_checked(tmp_path):
    from panda_plugin.adapters.basicsr.dp_model import dp_options

    assert dp_options({'dp': {'degradation': 'sr', 'level': 4}})['spec'] == 'sr:4'
    assert dp_options({'dp': {'degradation': 'blur', 'level': 2, 'noise': 0.02}})['spec'] == 'blur:2:0.02'
    for bad, match in (({'lam': 2}, 'lambda'), ({'degradation': 'jpeg'}, 'degradation'), ({'stepz': 3}, 'steps'),
                       ({'noise': 0.1}, 'dp.noise'), ({'conditioning': 'closed'}, 'conditioning')):
        with pytest.raises(PandaInputError, match=match):
            dp_options({'dp': bad})


def test_reference_images_keep_the_named_ones_in_order(tmp_path, small_astronaut):
    for name in ('b', 'a'):
        save_image(tmp_path / f'{name}.png', small_astronaut)
    assert [n for n, _ in read_images(tmp_path, 32, ['b', 'a'])] == ['b', 'a']
    with pytest.raises(PandaInputError, match="no image named 'c'"):
        read_images(tmp_path, 32, ['c'])


def test_reference_image_dataset_reads_bundled_held_out_images():
    from panda_plugin.engine.data.reference_images import ReferenceImageDataset

    data = ReferenceImageDataset({'images': 'bundled:bench', 'names': ['skimage_coffee'], 'size': 32})
    item = data[0]
    assert len(data) == 1 and item['gt'].shape == (3, 32, 32) and item['lq_path'] == 'skimage_coffee'
    assert 0 <= item['gt'].min() and item['gt'].max() <= 1 and item['gt'].std() > 0.05
    with pytest.raises(PandaInputError, match='size'):
        ReferenceImageDataset({'images': 'bundled:bench', 'size': 16})
