"""The image score UNet: shapes, its BasicSR training model type, and the sampler with it."""
import re

import numpy as np
import pytest
import torch

import research.unet_prior  # noqa: F401 (adds the unet prior)
from research.unet_prior.score_unet import ScoreUNet, load_score_unet, save_score_unet
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.dp.operators import parse_degradation
from panda_plugin.engine.dp.priors import load_prior
from panda_plugin.engine.dp.restore import measure, restore, to_tensor
from panda_plugin.engine.dp.score import EpsScore
from panda_plugin.engine.image_io import save_image, square_crop

TINY = {'widths': [8, 8, 16, 16], 'emb_dim': 16}


pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.mark.parametrize('shape', [(2, 3, 16, 40), (1, 3, 24, 8)])
def test_unet_keeps_non_square_shapes_and_the_input_dtype(shape):
    net = ScoreUNet(**TINY)
    x = torch.randn(shape, dtype=torch.float64)
    out = net(x, torch.tensor([0.3] * shape[0], dtype=torch.float64))
    assert out.shape == x.shape and out.dtype == torch.float64 and torch.isfinite(out).all()


def test_unet_refuses_sides_that_are_not_multiples_of_8():
    with pytest.raises(PandaInputError, match='multiples of 8'):
        ScoreUNet(**TINY)(torch.randn(1, 3, 16, 12), torch.tensor([0.5]))


def test_unet_output_depends_on_the_noise_level():
    torch.manual_seed(0)
    net = ScoreUNet(**TINY)
    x = torch.randn(1, 3, 16, 16)
    assert not torch.allclose(net(x, torch.tensor([0.99])), net(x, torch.tensor([0.01])))


def test_training_model_type_builds_in_basicsr_and_lowers_the_loss_on_a_fixed_batch(tmp_path, small_astronaut):
    pytest.importorskip('basicsr')
    from basicsr.data import build_dataset
    from basicsr.models import build_model

    (tmp_path / 'images').mkdir()
    save_image(tmp_path / 'images' / 'astronaut.png', square_crop(small_astronaut, 64))
    dataset = build_dataset({'type': 'ImageCropDataset', 'name': 'crops', 'phase': 'train',
                             'images': str(tmp_path / 'images'), 'crop_size': 16, 'length': 8})
    batch = {'image': torch.stack([dataset[i]['image'] for i in range(8)])}
    assert batch['image'].shape == (8, 3, 16, 16) and -1 <= batch['image'].min() < batch['image'].max() <= 1
    opt = {'name': 'score', 'model_type': 'DenoisingScoreModel', 'num_gpu': 0, 'is_train': True, 'dist': False,
           'rank': 0, 'world_size': 1, 'network_g': {'type': 'ScoreUNet', **TINY},
           'path': {'pretrain_network_g': None, 'models': str(tmp_path / 'models'),
                    'training_states': str(tmp_path / 'states')},
           'train': {'optim_g': {'type': 'Adam', 'lr': 3e-3}, 'scheduler': {'type': 'MultiStepLR', 'milestones': [100],
                                                                           'gamma': 0.5}, 'ema_decay': 0.5},
           'val': {'metrics': {'dsm': {'better': 'lower'}}}}
    for folder in ('models', 'states'):
        (tmp_path / folder).mkdir()
    torch.manual_seed(0)
    model = build_model(opt)
    losses = []
    for step in range(30):
        model.feed_data(batch)
        model.optimize_parameters(step)
        losses.append(float(model.log_dict['l_dsm']))
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    model.save(0, 30)
    checkpoint = tmp_path / 'models' / 'net_g_30.pth'
    net = load_score_unet(checkpoint, TINY)  # the moving average, loaded without pickle
    assert torch.equal(net.head.weight, model.net_g_ema.head.weight)


def test_eps_score_unet_plugs_into_the_sampler_on_a_16x16_image(tmp_path, small_astronaut):
    torch.manual_seed(0)
    network = ScoreUNet(**TINY).eval()
    path = save_score_unet(network, tmp_path / 'unet.safetensors')
    prior = load_prior(f'unet:{path}')
    assert isinstance(prior, EpsScore) and prior.name == f'unet:{path}'
    image = square_crop(small_astronaut, 16)
    degradation = parse_degradation('noise:0.2')
    y = measure(image, degradation)
    out = restore(prior, degradation, y, to_tensor(image).shape, lam=0.5, steps=4)
    assert out.shape == (1, 3, 16, 16) and torch.isfinite(out).all()
    x, level = torch.randn(1, 3, 8, 8), torch.tensor([0.4])
    with torch.no_grad():
        saved = network(x, level)
        assert torch.equal(load_score_unet(path)(x, level), saved)   # the saved network, not a fresh one
        assert torch.equal(prior.eps(x, level), saved)
        assert not torch.allclose(ScoreUNet(**TINY).eval()(x, level), saved)


def test_validation_crops_are_fixed_and_training_crops_vary(tmp_path, small_astronaut):
    from research.unet_prior.crops import ImageCropDataset

    (tmp_path / 'images').mkdir()
    save_image(tmp_path / 'images' / 'astronaut.png', square_crop(small_astronaut, 64))
    opt = {'images': str(tmp_path / 'images'), 'crop_size': 16, 'length': 4}
    val = ImageCropDataset({**opt, 'phase': 'val', 'seed': 3})
    assert torch.equal(val[2]['image'], ImageCropDataset({**opt, 'phase': 'val', 'seed': 3})[2]['image'])
    train = ImageCropDataset(opt)
    assert not torch.equal(train[0]['image'], train[0]['image'])
    with pytest.raises(PandaInputError, match='crop_size'):
        ImageCropDataset({**opt, 'crop_size': 4})
    with pytest.raises(PandaInputError, match='no image'):
        ImageCropDataset({**opt, 'crop_size': 128})


@pytest.mark.parametrize('spec, fragment', [
    ('vae', "image prior 'vae'; accepted: gmm, gmm8, gmm:PATH.npz, PATH.npz, unet, unet:PATH.safetensors"),
    ('unet:/no/such/file.safetensors', "score UNet weights '/no/such/file.safetensors' not found; accepted: "),
])
def test_unknown_priors_are_refused(spec, fragment):
    with pytest.raises(PandaInputError, match=re.escape(fragment)):
        load_prior(spec)


def test_dp_sweep_runs_with_a_unet_prior(tmp_path, small_astronaut):
    import json

    from panda_plugin.adapters.cli import main

    path = save_score_unet(ScoreUNet(**TINY), tmp_path / 'unet.safetensors')
    save_image(tmp_path / 'a.png', square_crop(small_astronaut, 32))
    out = tmp_path / 'sweep'
    assert main(['dp-sweep', str(tmp_path / 'a.png'), '--degrade', 'noise:0.2', '--lambdas', '0,1', '--size', '32',
                 '--steps', '3', '--regions', 'none', '--prior', f'unet:{path}', '--out', str(out)]) == 0
    report = json.loads((out / 'sweep.json').read_text())
    assert report['prior'] == f'unet:{path}' and set(report['runs']) == {'lambda=0', 'lambda=1'}
