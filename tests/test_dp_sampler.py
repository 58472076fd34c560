"""Variance-scaled reverse diffusion: the closed-form Gaussian case, DPS, operators."""
import pytest
import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.diffusion.guidance import DPSScore
from panda_plugin.engine.diffusion.mixture import GaussianMixture, ring_mixture
from panda_plugin.engine.diffusion.operators import Downsample, GaussianBlur, parse_degradation
from panda_plugin.engine.diffusion.sampler import reverse_diffusion
from panda_plugin.engine.diffusion.schedule import vp_schedule


pytestmark = pytest.mark.usefixtures('one_torch_thread')


def gaussian_posterior():
    prior = GaussianMixture(torch.ones(1), torch.tensor([[0.5, -0.3]]), torch.tensor([[[1.0, 0.6], [0.6, 0.8]]]))
    post = prior.posterior(torch.tensor([[1.0, 0.2]]), 0.5)
    return GaussianMixture(post.weights[0], post.means[0], post.covariances), post.mean()[0], post.covariance()[0]


@pytest.mark.parametrize('lam', [0.0, 0.25, 0.5, 0.75, 1.0])
def test_gaussian_end_point_is_mmse_mean_and_lambda_times_posterior_covariance(lam):
    score, mmse, cov = gaussian_posterior()
    g = torch.Generator().manual_seed(0)
    x0 = reverse_diffusion(score, torch.randn(8000, 2, dtype=torch.float64, generator=g),
                           vp_schedule(200), lam, generator=g).x0
    assert torch.linalg.norm(x0.mean(0) - mmse) <= 0.02 * torch.linalg.norm(mmse)
    assert torch.linalg.norm(torch.cov(x0.T) - lam * cov) <= 0.05 * torch.linalg.norm(cov) * max(lam, 0.2)


def test_posterior_of_a_mixture_matches_bayes_rule_on_a_grid():
    prior = ring_mixture(4, 1.5, 0.3)
    y = torch.tensor([[0.7, -0.2]])
    post = prior.posterior(y, 0.6)
    grid = torch.stack(torch.meshgrid(torch.linspace(-4, 4, 161), torch.linspace(-4, 4, 161), indexing='ij'), -1)
    pts = grid.reshape(-1, 2).double()
    prior_density = sum((-((pts - m) ** 2).sum(1) / (2 * 0.09)).exp() for m in prior.means)
    unnorm = prior_density * (-((y - pts) ** 2).sum(1) / (2 * 0.36)).exp()
    mean = (unnorm[:, None] * pts).sum(0) / unnorm.sum()
    assert torch.allclose(post.mean()[0], mean, atol=1e-3)


def test_mixture_score_is_the_gradient_of_the_log_density():
    mixture = ring_mixture(3, 1.0, 0.4)
    x = torch.randn(5, 2, dtype=torch.float64)
    abar = 0.3
    def log_density(z):
        cov = 0.16 * abar + 1 - abar
        return torch.logsumexp(-((z[:, None] - abar ** 0.5 * mixture.means) ** 2).sum(-1) / (2 * cov), 1).sum()
    z = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(log_density(z), z)
    assert torch.allclose(mixture(x, abar), grad, atol=1e-9)


@pytest.mark.parametrize('operator', [GaussianBlur(1.0), Downsample(2)], ids=['blur', 'sr'])
def test_dps_reduces_the_measurement_residual(operator):
    g = torch.Generator().manual_seed(1)
    prior = lambda x, abar: -x  # N(0, I) stays N(0, I) under VP diffusion
    truth = torch.randn(2, 1, 8, 8, generator=g)
    y = operator(truth) + 0.05 * torch.randn(operator(truth).shape, generator=g)
    schedule = vp_schedule(100)
    start = torch.randn(2, 1, 8, 8, generator=g)
    free = reverse_diffusion(prior, start, schedule, 1.0, generator=torch.Generator().manual_seed(2)).x0
    guided = reverse_diffusion(DPSScore(prior, operator, y, 0.05), start, schedule, 1.0,
                               generator=torch.Generator().manual_seed(2)).x0
    assert (y - operator(guided)).norm() < 0.5 * (y - operator(free)).norm()


def test_bad_inputs_say_what_is_accepted():
    for spec in ('noise', 'noise:-1', 'blur:x', 'jpeg:3', 'sr:1', 'sr:2.5', 'blur:2:0'):
        with pytest.raises(PandaInputError):
            parse_degradation(spec)
    with pytest.raises(PandaInputError, match='lambda'):
        reverse_diffusion(lambda x, a: -x, torch.zeros(1, 2), vp_schedule(10), 1.5)
    with pytest.raises(PandaInputError):
        vp_schedule(1)
    with pytest.raises(PandaInputError, match='multiples'):
        Downsample(4)(torch.zeros(1, 1, 6, 6))
    assert parse_degradation('blur:2').noise == 0.01 and parse_degradation('sr:4:0.05').noise == 0.05
