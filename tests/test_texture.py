"""The texture score: exactly 1 for identical regions, tolerant of a resampled texture, lower
for lost or invented texture, finite gradients, batches that agree with single images."""
import cv2
import numpy as np
import pytest
import skimage.data
import torch

from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.panda.texture import FAMILIES, batch_texture, region_texture, texture_terms


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255


@pytest.fixture(scope='module')
def gravel() -> np.ndarray:
    """skimage's gravel photograph as RGB, 288 x 288 from the top-left corner."""
    return np.repeat(skimage.data.gravel()[:288, :288, None], 3, -1)


@pytest.fixture(scope='module')
def halves() -> np.ndarray:
    labels = np.zeros((256, 256), np.int64)
    labels[:, 128:] = 1
    return labels


def test_identical_regions_score_exactly_one(gravel, halves):
    reference = gravel[:256, :256]
    restored = reference.copy()
    restored[:, 128:] = cv2.GaussianBlur(reference, (0, 0), 2)[:, 128:]
    scores = region_texture(tensor(restored)[0], tensor(reference)[0], halves)
    assert float(scores[0]) == 1.0
    assert float(scores[1]) < 0.8


def test_a_shifted_sample_of_the_texture_scores_above_a_blurred_one(gravel, halves):
    reference = tensor(gravel[:256, :256])
    shifted = tensor(gravel[24:280, 16:272])
    blurred = tensor(cv2.GaussianBlur(gravel[:256, :256], (0, 0), 2))
    resampled = region_texture(shifted, reference, halves)
    lost = region_texture(blurred, reference, halves)
    assert (resampled >= 0.9).all()
    assert (resampled > lost + 0.3).all()


def test_grain_on_a_flat_region_lowers_the_score():
    rng = np.random.default_rng(0)
    sky = np.full((128, 128, 3), (120, 160, 220), np.uint8)
    sky = np.clip(sky + rng.normal(0, 0.5, sky.shape), 0, 255).astype(np.uint8)
    grain = np.clip(sky / 255 + rng.normal(0, 0.03, sky.shape[:2])[..., None], 0, 1)
    grainy = (grain * 255).round().astype(np.uint8)
    score = region_texture(tensor(grainy), tensor(sky), np.zeros((128, 128), np.int64))
    assert float(score[0]) < 0.9


def test_gradients_are_finite_for_identical_flat_and_noisy_inputs(gravel, halves):
    reference = tensor(gravel[:256, :256])
    for restored in (reference.clone(), torch.full_like(reference, 0.5),
                     (reference + 0.1 * torch.randn_like(reference)).clamp(0, 1)):
        restored.requires_grad_(True)
        batch_texture(restored, reference, [halves])[0].sum().backward()
        assert torch.isfinite(restored.grad).all()


def test_batch_agrees_with_single_images_and_terms_have_every_family(gravel, halves):
    reference = torch.cat([tensor(gravel[:256, :256]), tensor(gravel[32:, 32:])])
    restored = torch.cat([tensor(cv2.GaussianBlur(gravel[:256, :256], (0, 0), 1)), tensor(gravel[32:, 32:])])
    quarters = np.repeat(np.repeat(np.arange(4).reshape(2, 2), 128, 0), 128, 1)
    batch = batch_texture(restored, reference, [halves, quarters])
    for index, labels in enumerate((halves, quarters)):
        alone = region_texture(restored[index], reference[index], labels)
        assert torch.allclose(batch[index], alone, atol=1e-6)
    terms = texture_terms(restored, reference, [halves, quarters])
    assert terms[0].shape == (2, len(FAMILIES)) and terms[1].shape == (4, len(FAMILIES))
    assert torch.equal(batch[1], torch.ones(4, dtype=torch.float64))


def test_mismatched_shapes_are_refused(gravel, halves):
    with pytest.raises(PandaInputError, match='same shape'):
        batch_texture(tensor(gravel[:256, :256]), tensor(gravel[:128, :128]), [halves])


def test_pyiqa_texture_score_tolerates_resampling_where_fidelity_does_not(gravel):
    import pyiqa

    import panda_plugin  # noqa: F401 (registers the metric)

    texture = pyiqa.create_metric('panda', score='texture', device='cpu')
    fidelity = pyiqa.create_metric('panda', device='cpu')
    reference, shifted = tensor(gravel[:256, :256]), tensor(gravel[24:280, 16:272])
    assert float(texture(reference, reference)) == 1.0
    assert float(texture(shifted, reference)) >= 0.9 > 0.5 > float(fidelity(shifted, reference))
    with pytest.raises(PandaInputError, match="score 'sharpness'; accepted: fidelity, texture"):
        pyiqa.create_metric('panda', score='sharpness', device='cpu')


def test_the_texture_loss_from_an_option_block_has_finite_gradients(gravel):
    import yaml

    from panda_plugin.engine.panda.region_loss import PandaRegionLoss

    options = yaml.safe_load("{type: PandaRegionLoss, mode: texture, loss_weight: 0.1, segmenter: 'grid:2x2'}")
    options.pop('type')
    loss = PandaRegionLoss(**options)
    restored = tensor(cv2.GaussianBlur(gravel[:128, :128], (0, 0), 1.5)).requires_grad_()
    value = loss(restored, tensor(gravel[:128, :128]))
    value.backward()
    assert 0 < float(value.detach()) <= 0.1 and torch.isfinite(restored.grad).all() and restored.grad.abs().sum() > 0
    assert float(loss(tensor(gravel[:128, :128]), tensor(gravel[:128, :128]))) == 0.0


def test_the_grid_share_is_the_luma_difference_energy_on_the_block_grid_lines(gravel):
    from panda_plugin.engine.panda.texture import GRID, VARIANCE_FLOOR, _block_labels, grid_share

    compressed = cv2.imdecode(cv2.imencode('.jpg', gravel[:67, :75], [cv2.IMWRITE_JPEG_QUALITY, 10])[1], 1)
    luma = torch.stack([tensor(gravel[:67, :75])[0, :1], tensor(compressed)[0, :1]])
    labels = np.zeros((67, 75), np.int64)
    labels[:, 40:] = 1
    labels[50:, :] = 2
    blocks = _block_labels(torch.from_numpy(labels).int(), 3).numpy()
    shares = grid_share(luma, torch.from_numpy(blocks), 3).numpy()
    x = luma[:, 0].double().numpy()
    horizontal = (x[:, :-2, 1:-1] - x[:, :-2, :-2]) ** 2
    vertical = (x[:, 1:-1, :-2] - x[:, :-2, :-2]) ** 2
    on_lines = (np.arange(73) % GRID == GRID - 1)[None, None, :] * horizontal \
        + (np.arange(65) % GRID == GRID - 1)[None, :, None] * vertical
    for region in range(3):
        inside = blocks == region
        floor = 2 * VARIANCE_FLOOR * inside.sum()
        expected = (on_lines[:, inside].sum(1) + floor / GRID) / ((horizontal + vertical)[:, inside].sum(1) + floor)
        np.testing.assert_allclose(shares[:, region], expected, rtol=1e-5)
    assert shares[1].mean() > shares[0].mean()  # the compressed image has its energy on the grid


def test_mixes_are_the_weighted_sums_of_the_colour_planes_and_pass_gradients():
    from panda_plugin.engine.panda.reference_inputs import mix

    images = torch.rand(2, 3, 9, 7, requires_grad=True)
    rows = ((0.299, 0.587, 0.114), (1.0, -1.0, 0.0), (0.5, 0.5, -1.0), (0.0, 0.0, 1.0))
    planes = images.unbind(1)
    plain = torch.stack([planes[0] * a + planes[1] * b + planes[2] * c for a, b, c in rows], 1)
    mixed = mix(images, rows)
    assert mixed.shape == (2, 4, 9, 7)
    torch.testing.assert_close(mixed, plain, rtol=0, atol=1e-6)
    mixed.sum().backward()
    expected = torch.tensor([sum(column) for column in zip(*rows)]).view(1, 3, 1, 1).expand(2, 3, 9, 7)
    torch.testing.assert_close(images.grad, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize('structure, grid', [(True, True), (False, False)])
def test_an_octave_measured_in_bands_gives_the_statistics_of_the_whole(monkeypatch, structure, grid):
    import panda_plugin.engine.panda.texture as texture

    generator = torch.Generator().manual_seed(3)
    channels = torch.rand(2, 3, 75, 61, generator=generator)
    labels = torch.randint(0, 4, (75 // 8 + 1, 61 // 8 + 1), generator=generator).repeat_interleave(8, 0)
    blocks = texture._block_labels(labels.repeat_interleave(8, 1)[:75, :61], 4)
    whole = texture.octave_statistics(channels, blocks, 4, structure, grid)
    monkeypatch.setattr(texture, 'BAND_PIXELS', 16 * 59)  # bands of 16 rows: five, the last 9 rows
    banded = texture.octave_statistics(channels, blocks, 4, structure, grid)
    assert set(banded) == set(whole) and ('grid' in whole) == grid and ('horizontal' in whole) == structure
    for name, value in whole.items():
        torch.testing.assert_close(banded[name], value, rtol=1e-5, atol=1e-7)
