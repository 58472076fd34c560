"""Reference mode: identity scores exactly 1, degradations fall monotonically, relations say
``worse``, scores are differentiable; the ``ssim_psnr`` oracle shares the torch measure."""
import json
import warnings

import cv2
import numpy as np
import pyiqa
import pytest
import skimage.color
import torch

import panda_plugin
from panda_plugin.adapters.basicsr.metric import calculate_panda
from panda_plugin.adapters.cli import main
from panda_plugin.core.errors import PandaInputError, PandaWarning
from panda_plugin.core.taxonomy import DISTORTION_TYPES, SAME_THRESHOLD, SIGNIFICANT_THRESHOLD
from panda_plugin.engine.colour import rgb_to_lab
from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.distortions import degrade_regions
from panda_plugin.engine.distortions.degradations import gaussian_blur
from panda_plugin.engine.image_io import save_image, square_crop
from panda_plugin.engine.panda.fidelity import gaussian_blur as torch_blur
from panda_plugin.engine.panda.fidelity import region_fidelity
from panda_plugin.engine.panda.metric import shared_metric
from panda_plugin.engine.panda.reference import INDISTINGUISHABLE
from panda_plugin.engine.panda.region_loss import PandaRegionLoss
from panda_plugin.engine.panda.scoring import build_scorer


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(gaussian_blur(image.astype(np.float32) / 255, sigma) * 255 + 0.5, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode('.jpg', image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]


@pytest.fixture(scope='module')
def metric():
    return pyiqa.create_metric('panda', device='cpu')


@pytest.fixture(scope='module')
def coffee():
    """A held-out photograph (never seen in training)."""
    return square_crop(packaged_image('skimage', 'coffee'), 160)


@pytest.fixture(scope='module')
def rocket():
    return square_crop(packaged_image('skimage', 'rocket'), 128)


def test_identity_scores_exactly_one_everywhere(metric, coffee):
    damaged = jpeg(coffee, 10)
    for image in (coffee, damaged):
        assert float(metric(tensor(image), tensor(image))) == 1.0
        bgr = image[:, :, ::-1].copy()
        assert calculate_panda(bgr, bgr, crop_border=0) == 1.0
        graph = panda_plugin.compare(image, image)
        assert graph.anchor_score == graph.target_score == 1.0 and graph.relation == 'same'
        assert graph.metadata['mode'] == 'reference'
        for region in graph.regions:
            assert region.anchor.distortion == region.target.distortion == 'clean'
            assert region.anchor.severity == 'clean' and region.relation == 'same'
    scores, graphs = metric(tensor(coffee), tensor(coffee), return_graph=True)
    assert float(scores[0]) == 1.0 and graphs[0].anchor_score == 1.0


def test_blur_ladder_is_strictly_monotone(metric, rocket):
    scores = [float(metric(tensor(blurred(rocket, sigma)), tensor(rocket))) for sigma in (0.6, 1.2, 2, 3, 4.5)]
    assert all(a > b for a, b in zip(scores, scores[1:])), scores
    assert scores[0] < 1.0


def test_whole_image_blur_is_worse_and_labels_follow_the_gap(coffee):
    graph = panda_plugin.compare(blurred(coffee, 3), coffee)
    assert graph.relation in ('slightly_worse', 'significantly_worse')
    assert graph.target_score == 1.0 and graph.anchor_score < 1 - SAME_THRESHOLD
    for region in graph.regions:
        assert region.target.distortion == 'clean' and region.target.score == 1.0
        gap = 1.0 - region.anchor.score
        expected = ('same' if gap < SAME_THRESHOLD else
                    'significantly_worse' if gap >= SIGNIFICANT_THRESHOLD else 'slightly_worse')
        assert region.relation == expected
        if region.anchor.score >= INDISTINGUISHABLE:
            assert region.anchor.distortion == region.anchor.severity == 'clean'
        else:
            assert region.anchor.distortion in DISTORTION_TYPES
            assert region.anchor.severity == {'same': 'minor', 'slightly_worse': 'moderate',
                                              'significantly_worse': 'severe'}[region.relation]
    distortions = graph.distortion_areas('anchor')
    assert max(distortions, key=distortions.get) == 'blur'


def test_a_degraded_region_alone_loses_its_score(coffee):
    halves = np.zeros(coffee.shape[:2], np.int32)
    halves[:, 80:] = 1
    damaged = degrade_regions(coffee, halves, [[('noise', 'moderate')], []], seed=0)
    graph = panda_plugin.compare(damaged, coffee, masks=halves)
    assert graph.regions[1].anchor.score == 1.0 and graph.regions[1].anchor.distortion == 'clean'
    assert graph.regions[0].anchor.score < 1 - SAME_THRESHOLD and graph.regions[0].relation != 'same'


def test_reference_mode_is_the_default_and_pairwise_mirrors(coffee):
    damaged = blurred(coffee, 2)
    assert panda_plugin.compare(damaged, coffee).metadata['mode'] == 'reference'
    forward = panda_plugin.compare(damaged, coffee, pairwise=True)
    assert forward.metadata['mode'] == 'pairwise'
    backward = panda_plugin.compare(coffee, damaged, masks=forward.label_map, pairwise=True)
    assert [r.relation for r in forward.mirror().regions] == [r.relation for r in backward.regions]


def test_the_old_reference_keyword_maps_onto_the_modes(coffee):
    damaged = blurred(coffee, 2)
    with pytest.warns(DeprecationWarning, match='pairwise=True'):
        assert panda_plugin.compare(damaged, coffee, reference=False).metadata['mode'] == 'pairwise'
    with pytest.warns(DeprecationWarning, match='reference mode is the default'):
        old = panda_plugin.compare(damaged, coffee, reference=True)
    assert old.to_json() == panda_plugin.compare(damaged, coffee).to_json()
    with pytest.raises(PandaInputError, match='pairwise=True and reference=True exclude each other'):
        panda_plugin.compare(damaged, coffee, reference=True, pairwise=True)


def test_a_swapped_pair_gets_one_warning(coffee):
    heavy = blurred(coffee, 6)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the right order warns of nothing
        right = panda_plugin.compare(heavy, coffee)
    assert right.metadata['network_relation'] in ('slightly_worse', 'significantly_worse')
    with pytest.warns(PandaWarning, match='looks more degraded than the restored image.*may be swapped') as caught:
        swapped = panda_plugin.compare(coffee, heavy)
    assert len(caught) == 1 and '\n' not in str(caught[0].message)
    assert swapped.metadata['network_relation'] == 'significantly_better'


def test_reference_score_is_differentiable(coffee):
    loss_metric = pyiqa.create_metric('panda', as_loss=True, device='cpu')
    for damaged in (jpeg(coffee, 20), blurred(coffee, 2)):
        restored = tensor(damaged).requires_grad_()
        score = loss_metric(restored, tensor(coffee))
        (1 - score).backward()
        assert torch.isfinite(restored.grad).all() and restored.grad.abs().sum() > 0
    for mode in ('region', 'score'):
        restored = tensor(blurred(coffee, 2)).requires_grad_()
        value = PandaRegionLoss(mode=mode)(restored, tensor(coffee))
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(restored.grad).all() and restored.grad.abs().sum() > 0
    weights = PandaRegionLoss().pixel_weights(tensor(coffee), tensor(coffee))
    assert torch.equal(weights, torch.ones_like(weights))


def test_monitoring_scores_the_ground_truth_against_itself_one(coffee):
    metric = shared_metric(device='cpu')
    _, graphs = metric(tensor(coffee), tensor(coffee), return_graph=True)
    assert graphs[0].anchor_score == 1.0 and graphs[0].metadata['mode'] == 'reference'


def test_cli_reference_mode_by_default(coffee, tmp_path, capsys):
    save_image(tmp_path / 'restored.png', blurred(coffee, 3))
    save_image(tmp_path / 'reference.png', coffee)
    out = tmp_path / 'graph.json'
    assert main(['compare', str(tmp_path / 'restored.png'), str(tmp_path / 'reference.png'), '--json', str(out)]) == 0
    data = json.loads(out.read_text())
    assert data['metadata']['mode'] == 'reference' and data['target']['score'] == 1.0
    assert data['relation'].endswith('worse')
    assert 'whole image' in capsys.readouterr().out
    # the old flag still runs, and means the default
    assert main(['compare', str(tmp_path / 'restored.png'), str(tmp_path / 'reference.png'), '--reference',
                 '--json', str(tmp_path / 'old.json')]) == 0
    assert json.loads((tmp_path / 'old.json').read_text()) == data


def test_measure_matches_cielab_and_opencv_blur(coffee):
    lab = rgb_to_lab(tensor(coffee))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(lab, skimage.color.rgb2lab(coffee), atol=0.01)
    # the click networks' convention is scikit-image's; the two differ only in the lightness of dark colours
    ramp = torch.linspace(0, 1, 256, dtype=torch.float64).view(1, 1, 1, -1).expand(1, 3, 2, -1)
    click = rgb_to_lab(ramp, 'skimage')[0].permute(1, 2, 0).numpy()
    expected = skimage.color.rgb2lab(ramp[0].permute(1, 2, 0).numpy())
    np.testing.assert_allclose(click[..., 0], expected[..., 0], atol=1e-9)  # its lightness exactly
    np.testing.assert_allclose(click, expected, atol=0.01)
    difference = (rgb_to_lab(ramp) - rgb_to_lab(ramp, 'skimage')).abs().amax(dim=(0, 2))
    dark = rgb_to_lab(ramp)[0, 0, 0] <= 8
    assert difference[0, dark].max() > 1e-6 and difference[0, ~dark].max() < 1e-12 and difference[1:].max() < 1e-12
    with pytest.raises(PandaInputError, match="colour convention 'cie'; accepted: opencv, skimage"):
        rgb_to_lab(ramp, 'cie')
    values = np.random.default_rng(0).random((40, 50)).astype(np.float32)
    expected = cv2.GaussianBlur(values, (0, 0), 1.5)
    np.testing.assert_allclose(torch_blur(torch.from_numpy(values)[None, None], 1.5)[0, 0].numpy(), expected,
                               atol=1e-6)


def test_ssim_psnr_scorer_keeps_its_documented_properties(coffee):
    """1 for clean, [0, 1], and mean score strictly falling with severity for every distortion."""
    images = [coffee, square_crop(packaged_image('skimage', 'immunohistochemistry'), 128),
              square_crop(packaged_image('matplotlib', 'grace_hopper.jpg'), 128)]
    scorer = build_scorer('ssim_psnr')
    for image in images:
        whole = np.zeros(image.shape[:2], np.int32)
        assert scorer(image, image, whole).tolist() == [1.0]
    for distortion in DISTORTION_TYPES:
        means = []
        for severity in ('minor', 'moderate', 'severe'):
            scores = []
            for image in images:
                whole = np.zeros(image.shape[:2], np.int32)
                damaged = degrade_regions(image, whole, [[(distortion, severity)]], seed=0)
                scores.append(float(scorer(damaged, image, whole)[0]))
            assert all(0.0 <= s <= 1.0 for s in scores)
            means.append(np.mean(scores))
        assert 1.0 > means[0] > means[1] > means[2], (distortion, means)


def test_region_fidelity_is_one_for_identical_regions_only(coffee):
    halves = np.zeros(coffee.shape[:2], np.int32)
    halves[80:] = 1
    changed = coffee.copy()
    changed[100, 10] ^= 1  # one pixel, one grey level
    scores = region_fidelity(tensor(changed)[0], tensor(coffee)[0], halves).tolist()
    assert scores[0] == 1.0 and 0.99 < scores[1] < 1.0
