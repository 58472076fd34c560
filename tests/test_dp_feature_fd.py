"""The Fréchet distance on PANDA encoder features."""
import numpy as np
import pytest

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.dp.feature_fd import frechet_distance, panda_fd, panda_tokens


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (20000, 2))
    b = rng.normal(1, 2, (20000, 2))
    # |mu|^2 = 2; trace: (1 + 4 - 2 * 2) per dimension = 1 -> 2 + 2 = 4
    assert frechet_distance(a, b) == pytest.approx(4.0, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_panda_fd_is_zero_for_a_set_with_itself_and_grows_with_noise(small_astronaut):
    rng = np.random.default_rng(0)
    images = [small_astronaut[:64, :64], small_astronaut[-64:, -64:]]
    tokens = panda_tokens(images)
    assert tokens.shape == (2 * 32 * 32, 128)
    assert panda_fd(images, images) == pytest.approx(0.0, abs=1e-3)
    distances = []
    for sigma in (5, 20, 60):
        noisy = [np.clip(im + rng.normal(0, sigma, im.shape), 0, 255).astype(np.uint8) for im in images]
        distances.append(panda_fd(noisy, images))
    assert 1e-3 < distances[0] < distances[1] < distances[2]


def test_frechet_distance_rejects_mismatched_sets():
    with pytest.raises(PandaInputError, match='accepted'):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
