"""Variance-scaled reverse diffusion: the closed-form Gaussian case, exact and DPS conditioning, operators."""
import pytest
import torch
import torch.nn.functional as F

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.dp.guidance import DPSScore, resolve_conditioning
from panda_plugin.engine.dp.mixture import GaussianMixture, ring_mixture
from panda_plugin.engine.dp.operators import Downsample, GaussianBlur, parse_degradation
from panda_plugin.engine.dp.patch_prior import PatchGMMPrior, load_patch_prior, pooling_matrix
from panda_plugin.engine.dp.priors import load_prior
from panda_plugin.engine.dp.restore import measure, restore, to_image
from panda_plugin.engine.dp.sampler import reverse_diffusion
from panda_plugin.engine.dp.schedule import vp_schedule
from panda_plugin.engine.dp.sweep import psnr

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


def test_a_lambda_map_scales_each_pixel_variance_by_its_own_lambda():
    # Independent pixels with prior N(0, c): the end point of each is N(0, lambda c).
    c, schedule = 0.7, vp_schedule(200)
    score = lambda x, abar: -x / (abar * c + 1 - abar)  # noqa: E731
    lam = torch.tensor([0.0, 0.25, 1.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    x0 = reverse_diffusion(score, torch.randn(8000, 3, dtype=torch.float64, generator=g), schedule, lam, generator=g).x0
    assert torch.allclose(x0.var(0), lam * c, atol=0.03)
    start = torch.randn(5, 3, dtype=torch.float64)
    constant = reverse_diffusion(score, start, schedule, torch.full((3,), 0.5), generator=torch.Generator().manual_seed(1)).x0
    scalar = reverse_diffusion(score, start, schedule, 0.5, generator=torch.Generator().manual_seed(1)).x0
    assert torch.allclose(constant, scalar, atol=1e-12)
    for bad in (torch.tensor([0.5, 1.5, 0.0]), torch.tensor([0.5, float('nan'), 0.0]), torch.zeros(4)):
        with pytest.raises(PandaInputError, match='lambda map'):
            reverse_diffusion(score, start, schedule, bad)


def test_bad_inputs_say_what_is_accepted():
    accepted = r'; accepted: noise:SIGMA, blur:SIGMA\[:NOISE\] or sr:FACTOR\[:NOISE\]'
    for spec, message in (('noise', "degradation 'noise'" + accepted), ('noise:-1', "'noise:-1'" + accepted),
                          ('blur:x', "'blur:x'" + accepted), ('jpeg:3', "'jpeg:3'" + accepted),
                          ('sr:1', r'factor 1\.0; accepted: an integer >= 2'),
                          ('sr:2.5', r'factor 2\.5; accepted: an integer >= 2'),
                          ('blur:2:0', "'blur:2:0': the noise must be > 0")):
        with pytest.raises(PandaInputError, match=message):
            parse_degradation(spec)
    with pytest.raises(PandaInputError, match='lambda'):
        reverse_diffusion(lambda x, a: -x, torch.zeros(1, 2), vp_schedule(10), 1.5)
    with pytest.raises(PandaInputError, match='diffusion steps 1; accepted: an integer >= 2'):
        vp_schedule(1)
    with pytest.raises(PandaInputError, match='multiples'):
        Downsample(4)(torch.zeros(1, 1, 6, 6))
    assert parse_degradation('blur:2').noise == 0.01 and parse_degradation('sr:4:0.05').noise == 0.05


def test_exact_patch_conditional_score_is_the_closed_form_gaussian_one():
    # An isotropic zero-mean patch prior keeps pixels independent, so the conditional score of
    # every pixel is known whatever the tiling: x_k | y ~ N(sqrt(abar) m, abar p + 1 - abar).
    c, s, abar = 0.5, 0.3, 0.4
    prior = PatchGMMPrior(GaussianMixture(torch.ones(1), torch.zeros(1, 12), c * torch.eye(12)[None].double()), 2)
    g = torch.Generator().manual_seed(0)
    y, x = torch.randn(1, 3, 7, 9, generator=g).double(), torch.randn(1, 3, 7, 9, generator=g).double()
    p = 1 / (1 / c + 1 / s ** 2)
    expected = -(x - abar ** 0.5 * p * y / s ** 2) / (abar * p + 1 - abar)
    assert torch.allclose(prior.posterior_score(y, parse_degradation(f'noise:{s}'))(x, abar), expected, atol=1e-10)


def _crop(name):
    import cv2
    from skimage import data
    return cv2.resize(getattr(data, name)()[100:164, 100:164], (32, 32), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize('name', ['astronaut', 'coffee'])
def test_exact_denoising_psnr_falls_with_lambda(name):
    image, degradation = _crop(name), parse_degradation('noise:0.2')
    y = measure(image, degradation, 0)
    exact = [psnr(to_image(restore(load_patch_prior(), degradation, y, y.shape, lam, 20, conditioning='exact')), image)
             for lam in (0.0, 0.5, 1.0)]
    assert exact[0] > exact[1] + 0.5 > exact[2] + 1.0


def test_conditioning_choice_follows_prior_and_operator():
    gmm, noise, blur = load_patch_prior(), parse_degradation('noise:0.1'), parse_degradation('blur:2')
    assert resolve_conditioning(gmm, noise) == 'exact'
    assert resolve_conditioning(gmm, noise, 'dps') == 'dps'
    assert resolve_conditioning(gmm, blur) == 'dps'
    assert resolve_conditioning(lambda x, a: -x, noise) == 'dps'
    with pytest.raises(PandaInputError, match='conditioning exact'):
        resolve_conditioning(gmm, blur, 'exact')
    with pytest.raises(PandaInputError, match='accepted: auto, exact, dps'):
        resolve_conditioning(gmm, noise, 'closed')


def test_pooling_matrix_is_average_pooling_of_a_tile():
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    tile = x.reshape(-1)  # one 8x8 tile, channel-major as unfold flattens it
    assert torch.allclose(pooling_matrix(3, 8, 4) @ tile, F.avg_pool2d(x, 4).reshape(-1))


def test_exact_sr_conditioning_matches_the_measurement():
    image, degradation = _crop('astronaut'), parse_degradation('sr:2')
    prior = load_patch_prior()  # 6x6 tiles: factor 2 divides them
    assert resolve_conditioning(prior, degradation) == 'exact'
    assert resolve_conditioning(prior, parse_degradation('sr:4')) == 'dps'
    assert resolve_conditioning(load_prior('gmm8'), parse_degradation('sr:4')) == 'exact'
    y = measure(image, degradation, 0)
    shape = (1, 3, 32, 32)
    restored = {c: restore(prior, degradation, y, shape, 0.0, 20, conditioning=c) for c in ('exact', 'dps')}
    residual = {c: float((degradation.operator(out) - y).pow(2).mean().sqrt()) for c, out in restored.items()}
    assert residual['exact'] < 2 * degradation.noise
    assert psnr(to_image(restored['exact']), image) > psnr(to_image(degradation.operator.pseudo_inverse(y)), image)
