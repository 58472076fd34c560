"""The diffusion restorer as a BasicSR arch."""
import pytest
import torch

from panda_plugin.engine.diffusion.patch_prior import PatchGMMPrior, fit_patch_gmm, sample_patches


def test_dp_restorer_is_a_registered_arch_that_restores_at_a_chosen_lambda(tmp_path, small_astronaut):
    pytest.importorskip('basicsr')
    from basicsr.archs import build_network

    import panda_plugin  # noqa: F401 (registers the plugin when BasicSR is imported)

    prior = PatchGMMPrior(fit_patch_gmm(sample_patches([small_astronaut], 4, 200), 2, 3), 4).save(tmp_path / 'p.npz')
    net = build_network({'type': 'DPRestorer', 'degrade': 'sr:2', 'lam': 0.5, 'steps': 3, 'prior': str(prior)})
    lq = torch.rand(2, 3, 16, 16)
    out = net(lq)
    assert out.shape == (2, 3, 32, 32) and 0 <= out.min() and out.max() <= 1
