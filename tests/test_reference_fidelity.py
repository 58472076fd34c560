"""The reference-mode region measure: exactly 1 at identity, strictly falling along degradation
ladders, a finite non-zero gradient for non-identical pairs; and the human-agreement
benchmark on a made-up folder of its layout."""
import csv
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from panda_plugin.engine.data.bundled import packaged_image
from panda_plugin.engine.distortions.degradations import gaussian_blur
from panda_plugin.engine.panda.human_fidelity import reference_fidelity
from panda_plugin.engine.image_io import save_image, square_crop

BENCH_HUMAN = Path(__file__).parents[1] / 'benchmarks' / 'bench_human.py'


def tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    _, data = cv2.imencode('.jpg', image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(gaussian_blur(image.astype(np.float32) / 255, sigma) * 255 + 0.5, 0, 255).astype(np.uint8)


@pytest.fixture(scope='module')
def photo():
    return square_crop(packaged_image('skimage', 'coffee'), 128)


@pytest.fixture(scope='module')
def quadrants():
    label_map = np.zeros((128, 128), np.int64)
    label_map[:64, 64:], label_map[64:, :64], label_map[64:, 64:] = 1, 2, 3
    return label_map


def scores(restored: np.ndarray, reference: np.ndarray, label_map: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return reference_fidelity(tensor(restored), tensor(reference), [label_map])[0].numpy()


def test_identity_is_exactly_one(photo, quadrants):
    for image in (photo, jpeg(photo, 10), blurred(photo, 3)):
        assert scores(image, image, quadrants).tolist() == [1.0] * 4
    changed = photo.copy()
    changed[10, 10] ^= 1  # one grey level of one pixel of the first region
    values = scores(changed, photo, quadrants)
    assert 0.99 < values[0] < 1.0 and values[3] == 1.0


@pytest.mark.parametrize('ladder', ['jpeg', 'blur'])
def test_every_region_falls_strictly_along_a_ladder(photo, quadrants, ladder):
    if ladder == 'jpeg':
        versions = [jpeg(photo, quality) for quality in (92, 75, 50, 30, 18, 10, 5)]
    else:
        versions = [blurred(photo, sigma) for sigma in (0.6, 1.2, 2, 3, 4.5)]
    table = np.stack([scores(version, photo, quadrants) for version in versions])
    assert np.all(table < 1.0) and np.all(table > 0.0)
    assert np.all(np.diff(table, axis=0) < 0), table


def test_gradient_is_finite_and_non_zero_for_a_random_pair(quadrants):
    generator = torch.Generator().manual_seed(0)
    restored = torch.rand(1, 3, 128, 128, generator=generator).requires_grad_(True)
    reference = torch.rand(1, 3, 128, 128, generator=generator)
    values = reference_fidelity(restored, reference, [quadrants])[0]
    assert torch.all(values > 0) and torch.all(values < 1)
    for region in range(4):
        (gradient,) = torch.autograd.grad(values[region], restored, retain_graph=True)
        assert torch.isfinite(gradient).all() and gradient.abs().sum() > 0, region
    identical = reference.clone().requires_grad_(True)
    reference_fidelity(identical, reference, [quadrants])[0].sum().backward()
    assert torch.isfinite(identical.grad).all() and float(identical.grad.abs().sum()) == 0.0


def test_bench_human_on_a_made_up_folder(tmp_path, photo):
    """Noise ladders of two images with a made-up DMOS rising with the noise: PSNR and PANDA
    must both order the noise levels as the made-up people do."""
    spec = importlib.util.spec_from_file_location('bench_human', BENCH_HUMAN)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rng = np.random.default_rng(0)
    rows = []
    for name, image in (('coffee', photo), ('rocket', square_crop(packaged_image('skimage', 'rocket'), 128))):
        save_image(tmp_path / f'{name}.png', image)
        for level, sigma in enumerate((3, 8, 20, 45)):
            noisy = np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)
            save_image(tmp_path / f'{name}_{level}.png', noisy)
            rows.append({'dist_image': f'{name}_{level}.png', 'ref_image': f'{name}.png', 'distortion': 'noise',
                         'dmos_realigned': 10 + 20 * level})
    with open(tmp_path / 'scores.csv', 'w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / 'out.json'
    record = bench.main([str(tmp_path), '--json', str(out), '--measures', 'panda', 'psnr'])
    assert out.is_file() and record['images'] == 8 and record['references'] == 2
    for measure in ('panda', 'psnr'):
        result = record['results'][measure]
        assert result['noise']['n'] == 8 and result['all']['srcc'] > 0.9, (measure, result)
        assert 0.9 < result['all']['plcc'] <= 1.0
    parts = [tmp_path / f'part{k}.json' for k in (1, 2)]
    for k, part in enumerate(parts, 1):
        bench.main([str(tmp_path), '--json', str(part), '--measures', 'panda', 'psnr', '--part', f'{k}/2'])
    merged = bench.main([str(tmp_path), '--merge', *map(str, parts)])
    assert merged['scores'] == record['scores'] and merged['results'] == record['results']
    with pytest.raises(SystemExit, match='lack 4 images'):
        bench.main([str(tmp_path), '--merge', str(parts[0])])
    with pytest.raises(SystemExit, match='scores.csv'):
        bench.main([str(tmp_path / 'missing')])
