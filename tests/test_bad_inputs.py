"""The bad-input matrix: every case gives a correct result or a ``PandaInputError`` naming the
value and what is accepted (one line and status 2 on the command line), and nothing already
written is changed. Property-based tests cover the graph JSON, RLE masks and the image loader."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import cv2
import lmdb
import numpy as np
import pytest
import torch
from cli_checks import cli_error, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from safetensors.torch import save_file

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.core.masks import MAX_PIXELS, _compress_counts, rle_decode, rle_encode
from panda_plugin.engine.data.integrity import WriterLock
from panda_plugin.engine.data.lmdb_store import RecordReader
from panda_plugin.engine.image_io import MIN_SIDE, load_image
from panda_plugin.engine.panda.data.builder import BuildSettings, make_dataset
from panda_plugin.engine.panda.weights import check_device, load_model
from panda_plugin.engine.regions import load_masks

SMALL = dict(pairs_per_image=2, size=48, seed=5)


def entries(path) -> dict:
    with lmdb.open(str(path), readonly=True, lock=False) as env, env.begin() as txn:
        return {bytes(k): bytes(v) for k, v in txn.cursor()}


@pytest.fixture
def bench_copy(tiny_bench, tmp_path):
    """A private copy of the session's small PANDABENCH database, free to damage."""
    copy = tmp_path / 'copy.lmdb'
    shutil.copytree(tiny_bench, copy)
    return copy


@pytest.fixture(scope='module')
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp('pair')
    image = cv2.resize(np.ascontiguousarray(__import__('skimage.data').data.astronaut()), (64, 64))
    cv2.imwrite(str(folder / 'a.png'), image[:, :, ::-1])
    cv2.imwrite(str(folder / 'b.png'), cv2.GaussianBlur(image, (5, 5), 2)[:, :, ::-1])
    return folder / 'a.png', folder / 'b.png'


# Images --------------------------------------------------------------------------------------

@pytest.mark.parametrize('shape', [(7, 7, 3), (16, 16, 3), (MIN_SIDE - 1, 500, 3)])
def test_images_below_the_minimum_size(shape):
    with pytest.raises(PandaInputError, match=f'{shape[0]}x{shape[1]} pixels.*at least {MIN_SIDE}'):
        load_image(np.zeros(shape, np.uint8))


def test_tiny_image_on_the_command_line(tmp_path, pair, capsys):
    cv2.imwrite(str(tmp_path / 'tiny.png'), np.zeros((16, 16, 3), np.uint8))
    err = cli_error(['compare', tmp_path / 'tiny.png', pair[1]], capsys)
    assert 'tiny.png' in err and '16x16' in err and f'at least {MIN_SIDE}' in err


def test_exif_rotated_jpeg_is_compared_upright(tmp_path, pair):
    upright = load_image(pair[0])
    stored = Image.fromarray(np.rot90(upright, 1))  # stored turned left, tag 6 turns it back
    exif = stored.getexif()
    exif[0x0112] = 6
    stored.save(tmp_path / 'turned.jpg', exif=exif.tobytes(), quality=100, subsampling=0)
    for source in (tmp_path / 'turned.jpg', Image.open(tmp_path / 'turned.jpg')):
        loaded = load_image(source).astype(int)
        assert np.abs(loaded - upright).mean() < 2 < 20 < np.abs(loaded - np.asarray(stored)).mean()


# Tensors -------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def metric():
    from panda_plugin.engine.panda.metric import PandaMetric

    return PandaMetric()


@pytest.mark.parametrize('scale, offset, name, fragment', [
    (255, 0, 'restored', r'restored values span \[.*, 255\]; accepted: \[0, 1\]'),
    (1, -0.5, 'restored', r'restored values span \[-0\.4.*accepted: \[0, 1\]'),
])
def test_tensors_outside_0_1_are_refused(metric, scale, offset, name, fragment):
    images = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    with pytest.raises(PandaInputError, match=fragment):
        metric(images * scale + offset, images)
    with pytest.raises(PandaInputError, match='reference values span'):
        metric(images, images * 255)
    assert metric(images, images).tolist() == [1.0]   # identical pixels: exactly 1


def test_tiny_tensors_are_refused(metric):
    with pytest.raises(PandaInputError, match='16x16 pixels'):
        metric(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))


def test_as_loss_refuses_0_255_tensors():
    pyiqa = pytest.importorskip('pyiqa')
    loss = pyiqa.create_metric('panda', as_loss=True, device='cpu')
    images = torch.rand(1, 3, 48, 48)
    with pytest.raises(PandaInputError, match=r'values span .*accepted: \[0, 1\]'):
        loss(images * 255, images * 255)


# Masks ---------------------------------------------------------------------------------------

def test_huge_rle_fails_before_allocating(tmp_path):
    path = tmp_path / 'huge.json'
    path.write_text(json.dumps([{'size': [50000, 50000], 'counts': _compress_counts([0, 50000 ** 2])}]))
    assert path.stat().st_size < 60
    start = time.perf_counter()
    for image_size in (None, (64, 64)):
        with pytest.raises(PandaInputError, match=f'huge.json.*50000x50000.*at most {MAX_PIXELS}'):
            load_masks(path, image_size)
    assert time.perf_counter() - start < 1


def test_mask_sizes_are_checked_against_the_image(tmp_path, pair, capsys):
    path = tmp_path / 'masks.json'
    path.write_text(json.dumps([rle_encode(np.ones((40, 40), bool))]))
    with pytest.raises(PandaInputError, match='RLE size 40x40.*image is 64x64'):
        load_masks(path, (64, 64))
    cv2.imwrite(str(tmp_path / 'labels.png'), np.zeros((40, 40), np.uint8))
    with pytest.raises(PandaInputError, match='labels.png.*40x40.*image is 64x64'):
        load_masks(tmp_path / 'labels.png', (64, 64))
    err = cli_error(['compare', pair[0], pair[1], '--masks', path], capsys)
    assert 'masks.json' in err and '40x40' in err


@pytest.mark.parametrize('rle, fragment', [
    ({'size': [0, 5], 'counts': []}, 'two positive integers'),
    ({'size': [2, 'x'], 'counts': [4]}, 'two positive integers'),
    ({'size': [2, 2]}, 'not a COCO RLE'),
    ({'size': [2, 2], 'counts': [1, 4]}, 'sum to 5'),
    ({'size': [2, 2], 'counts': 'P'}, 'ends in the middle'),
    ({'size': [2, 2], 'counts': [[1], [3]]}, 'a string or a list of integers'),
])
def test_malformed_rle(rle, fragment):
    with pytest.raises(PandaInputError, match=fragment):
        rle_decode(rle)


def test_empty_and_overlapping_masks_still_refused(tmp_path):
    masks = np.zeros((2, 8, 8), bool)
    masks[0, :4] = masks[1, 2:] = True
    path = tmp_path / 'overlap.json'
    path.write_text(json.dumps([rle_encode(m) for m in masks]))
    with pytest.raises(PandaInputError, match='overlap on 16 pixels'):
        load_masks(path)
    masks[1] = False
    path.write_text(json.dumps([rle_encode(m) for m in masks]))
    with pytest.raises(PandaInputError, match=r'masks \[1\] are empty'):
        load_masks(path)


def test_graph_json_declaring_a_huge_image():
    text = json.dumps({'schema': 'panda-dg/1', 'image_size': [50000, 50000], 'anchor': {}, 'target': {},
                       'relation': 'same', 'regions': [{}], 'metadata': {}})
    with pytest.raises(PandaInputError, match='50000, 50000.*too large'):
        DistortionGraph.from_json(text)


# Weights and devices -------------------------------------------------------------------------

@pytest.mark.parametrize('encoder, fragment', [
    ('hf-hub:timm/resnet18.a1_in1k', 'does not build offline'),
    ('https://example.com/resnet18.pth', 'does not build offline'),
    ('timm/resnet18', 'does not build offline'),
    ('resnet_nonexistent', 'not a timm model'),
    (['resnet18'], 'does not build offline'),
])
def test_weights_naming_an_encoder_that_needs_the_network(tmp_path, monkeypatch, encoder, fragment):
    path = tmp_path / 'w.safetensors'
    save_file({'x': torch.zeros(1)}, str(path), metadata={'panda_config': json.dumps({'encoder': encoder})})

    def no_network(*args, **kwargs):
        raise AssertionError('the network was contacted')

    monkeypatch.setattr(socket, 'socket', no_network)
    monkeypatch.setattr(socket, 'getaddrinfo', no_network)
    with pytest.raises(PandaInputError, match=fragment):
        load_model(path)


def test_weights_with_broken_metadata(tmp_path):
    path = tmp_path / 'w.safetensors'
    save_file({'x': torch.zeros(1)}, str(path), metadata={'panda_config': '{"encoder": '})
    with pytest.raises(PandaInputError, match='not JSON'):
        load_model(path)
    (tmp_path / 'junk.safetensors').write_bytes(b'junk')
    with pytest.raises(PandaInputError, match='cannot read weights'):
        load_model(tmp_path / 'junk.safetensors')


def test_cuda_without_cuda(pair, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)   # as on a machine without CUDA
    for device in ('cuda', 'cuda:1', torch.device('cuda')):
        with pytest.raises(PandaInputError, match='CUDA is not available'):
            check_device(device)
    with pytest.raises(PandaInputError, match="device 'cuda'.*CUDA is not available"):
        load_model(device='cuda')
    err = cli_error(['compare', pair[0], pair[1], '--device', 'cuda'], capsys)
    assert "device 'cuda'" in err and "accepted here: 'cpu'" in err
    with pytest.raises(PandaInputError, match="'gpu'.*accepted"):
        check_device('gpu')


# Databases -----------------------------------------------------------------------------------

def test_truncated_database_is_an_error_not_sigbus(bench_copy, tiny_bench):
    data = bench_copy / 'data.mdb'
    with open(data, 'r+b') as handle:
        handle.truncate(data.stat().st_size // 2)
    with pytest.raises(PandaInputError, match=f'truncated.*panda make-dataset --images IMAGES .*--out {bench_copy}'):
        RecordReader(bench_copy)
    result = subprocess.run([sys.executable, '-m', 'panda_plugin.adapters.cli', 'bench', '--data',
                             str(bench_copy)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count('\n') == 1 and 'truncated' in result.stderr
    assert f'--out {bench_copy}' in result.stderr
    assert len(RecordReader(tiny_bench)) == 8


def _foreign(path):
    with lmdb.open(str(path), map_size=1 << 24) as env, env.begin(write=True) as txn:
        txn.put(b'0001', cv2.imencode('.png', np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    (path / 'meta_info.txt').write_text('0001 (8,8,3) 1\n')


def _set(path, key, value):
    with lmdb.open(str(path), map_size=1 << 30) as env, env.begin(write=True) as txn:
        if value is None:
            txn.delete(key)
        else:
            txn.put(key, value)


def _keys(path):
    return [line.split()[0] for line in (path / 'meta_info.txt').read_text().splitlines()]


@pytest.mark.parametrize('damage, fragment', [
    (lambda p: _foreign(p.with_name('foreign.lmdb')) or p.with_name('foreign.lmdb'),
     'no PANDASET build config'),
    (lambda p: [(p / 'data.mdb').write_bytes(os.urandom(20000)), p][1], 'no LMDB header'),
    (lambda p: (p / 'meta_info.txt').unlink() or p, 'meta_info.txt'),
    (lambda p: _set(p, f'{_keys(p)[-1]}.anchor'.encode(), b'\x89PNG garbage') or p, 'checksum'),
    (lambda p: _set(p, f'{_keys(p)[3]}.labels'.encode(), None) or p, 'LMDB entries'),
    (lambda p: _set(p, b'__complete__', b'{"records": 8, "format": 9}') or p, 'record format 9'),
    (lambda p: _set(p, b'__complete__', None) or p, 'incomplete'),
    (lambda p: _set(p, b'__config__', b'{"size": ') or p, 'corrupt config'),
    (lambda p: [(p / 'meta_info.txt').write_text('000000_000 (64,64,3) 1\n'), p][1], 'lists 1 records'),
])
def test_damaged_and_foreign_databases_fail_at_open(bench_copy, capsys, damage, fragment):
    path = damage(bench_copy)
    with pytest.raises(PandaInputError, match=fragment) as error:
        RecordReader(path)
    assert str(path) in str(error.value)
    if fragment != 'incomplete':
        assert 'panda make-dataset' in str(error.value)
    err = cli_error(['bench', '--data', path], capsys)
    assert fragment.split()[-1] in err


def test_a_record_damaged_in_the_middle_is_named_when_read(bench_copy, capsys):
    middle = _keys(bench_copy)[3]
    _set(bench_copy, f'{middle}.target'.encode(), b'not a png')
    reader = RecordReader(bench_copy)
    with pytest.raises(PandaInputError, match=f'corrupt record {middle}.*panda make-dataset'):
        [reader.read(i) for i in range(len(reader))]
    err = cli_error(['bench', '--data', bench_copy], capsys)
    assert middle in err


def test_shards_of_different_sizes_are_refused(image_folder, tmp_path, tiny_bench):
    other = tmp_path / 'other.lmdb'
    make_dataset(image_folder, other, BuildSettings(split='easy', **SMALL), progress=False)
    with pytest.raises(PandaInputError, match='different --size.*64.*48'):
        RecordReader([tiny_bench, other])
    from panda_plugin.engine.panda.data.dataset import PandaSetDataset

    with pytest.raises(PandaInputError, match='different --size'):
        PandaSetDataset({'dataroot': [str(tiny_bench), str(other)]})


_HOLD = ('import sys, time; from panda_plugin.engine.data.integrity import WriterLock; '
         'WriterLock(sys.argv[1]).acquire(); print("held", flush=True); time.sleep(120)')


def test_one_writer_per_output(image_folder, tmp_path, bench_copy, capsys):
    out = tmp_path / 'busy.lmdb'
    holder = subprocess.Popen([sys.executable, '-c', _HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        start = time.perf_counter()
        with pytest.raises(PandaInputError, match=f'being written by process {holder.pid} on '):
            make_dataset(image_folder, out, BuildSettings(split='easy', **SMALL), progress=False)
        assert time.perf_counter() - start < 5
        err = cli_error(['make-dataset', '--images', image_folder, '--out', out, '--split', 'hard',
                         '--size', '48'], capsys)
        assert str(holder.pid) in err and 'busy.lmdb.lock' in err
        assert not out.exists() and not out.with_name('busy.lmdb.partial').exists()
    finally:
        holder.kill()
        holder.wait()
    # The holder died without cleaning up: its lock is stale and is taken over.
    assert json.loads(out.with_name('busy.lmdb.lock').read_text())['pid'] == holder.pid
    report = make_dataset(image_folder, out, BuildSettings(split='easy', **SMALL), progress=False)
    assert report.records == 8 and not out.with_name('busy.lmdb.lock').exists()
    # A finished database is never touched by a second run with other settings.
    before = snapshot(bench_copy)
    with pytest.raises(PandaInputError, match='already exists'):
        make_dataset(image_folder, bench_copy, BuildSettings(split='hard', **SMALL), progress=False)
    assert snapshot(bench_copy) == before


def test_lock_of_a_dead_process_and_of_another_host(tmp_path):
    out = tmp_path / 'x.lmdb'
    lock_file = tmp_path / 'x.lmdb.lock'
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True,
                          text=True).stdout.strip()
    lock_file.write_text(json.dumps({'pid': int(dead), 'host': socket.gethostname()}))
    lock = WriterLock(out).acquire()
    assert json.loads(lock_file.read_text())['pid'] == os.getpid()
    with pytest.raises(PandaInputError, match=f'being written by process {os.getpid()}'):
        WriterLock(out).acquire()
    lock.release()
    assert not lock_file.exists()
    lock_file.write_text(json.dumps({'pid': 1, 'host': 'elsewhere'}))
    with pytest.raises(PandaInputError, match='process 1 on elsewhere.*remove'):
        WriterLock(out).acquire()


# Properties ----------------------------------------------------------------------------------

@st.composite
def graphs(draw):
    height, width = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    count = draw(st.integers(1, min(6, height * width)))
    flat = draw(arrays(np.int32, height * width, elements=st.integers(-1, count - 1)))
    flat[:count] = np.arange(count)  # every region has a pixel
    label_map = flat.reshape(height, width)
    scores = st.floats(0, 1, allow_nan=False)
    sides = [{'distortion': draw(st.lists(st.integers(0, 14), min_size=count, max_size=count)),
              'severity': draw(st.lists(st.integers(1, 3), min_size=count, max_size=count)),
              'score': draw(st.lists(scores, min_size=count, max_size=count))} for _ in range(2)]
    for side in sides:
        side['severity'] = [0 if d == 0 else s for d, s in zip(side['distortion'], side['severity'])]
    metadata = draw(st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8)),
                                    max_size=3))
    return DistortionGraph.from_labels(label_map, *sides, metadata=metadata)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_graph_json_round_trip(graph):
    text = graph.to_json()
    again = DistortionGraph.from_json(text)
    assert again == graph and again.to_json() == text


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40))))
def test_rle_round_trip(mask):
    rle = json.loads(json.dumps(rle_encode(mask)))
    assert np.array_equal(rle_decode(rle), mask)
    assert np.array_equal(rle_decode(rle, mask.shape), mask)


_IMAGE_DTYPES = st.sampled_from([np.uint8, np.uint16, np.float32])


@st.composite
def images(draw):
    dtype = draw(_IMAGE_DTYPES)
    shape = (draw(st.integers(MIN_SIDE, 48)), draw(st.integers(MIN_SIDE, 48)))
    shape += draw(st.sampled_from([(), (1,), (2,), (3,), (4,)]))
    elements = st.floats(0, 1, width=32) if dtype == np.float32 else None
    return draw(arrays(dtype, shape, elements=elements))


@settings(max_examples=40, deadline=None)
@given(images())
def test_image_loader_gives_8_bit_rgb(array):
    loaded = load_image(array, convert=True)
    assert loaded.dtype == np.uint8 and loaded.shape == (*array.shape[:2], 3)
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3:
        assert np.array_equal(loaded, array) and np.array_equal(load_image(array), array)
    tensor = torch.from_numpy(np.atleast_3d(array).astype(np.float32)).permute(2, 0, 1)
    if array.dtype == np.float32 and tensor.shape[0] in (1, 3):
        assert np.array_equal(load_image(tensor, convert=True), loaded)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(images().filter(lambda a: a.dtype != np.float32 and a.ndim == 3 and a.shape[2] != 2))
def test_image_files_load_as_their_arrays(tmp_path, array):
    path = tmp_path / 'image.png'
    stored = array[:, :, [2, 1, 0, 3][:array.shape[2]]] if array.shape[2] >= 3 else array
    assert cv2.imwrite(str(path), stored)
    assert np.array_equal(load_image(path, convert=True), load_image(array, convert=True))
    via_pil = load_image(Image.open(path), convert=True)
    if array.dtype == np.uint16 and array.shape[2] >= 3:
        # Pillow opens 16-bit colour PNGs as 8-bit by keeping the high byte of each sample
        assert np.array_equal(via_pil, load_image((array >> 8).astype(np.uint8), convert=True))
        assert np.abs(via_pil.astype(int) - load_image(array, convert=True)).max() <= 1
    else:
        assert np.array_equal(via_pil, load_image(array, convert=True))


# -- option blocks, checked when the run starts -------------------------------------------------

@pytest.mark.parametrize('options, fragment', [
    ({'strenght': 2.0}, "unknown panda_opt option 'strenght' (did you mean 'strength'?)"),
    ({'loss_weight': -1.0}, 'panda_opt.loss_weight = -1.0; accepted: a number >= 0'),
    ({'strength': 'high'}, "panda_opt.strength = 'high'; accepted: a number >= 0"),
    ({'mode': 'pixels'}, "panda_opt.mode = 'pixels'; accepted: region, score"),
])
def test_panda_opt_is_checked_when_the_loss_is_built(options, fragment):
    from panda_plugin.engine.panda.region_loss import PandaRegionLoss

    with pytest.raises(PandaInputError) as error:
        PandaRegionLoss(**options)
    assert fragment in str(error.value)


@pytest.mark.parametrize('mode', ['region', 'score'])
@pytest.mark.parametrize('pred, target, fragment', [
    (torch.rand(1, 3, 64, 64), 255 * torch.rand(1, 3, 64, 64), 'values span'),
    (torch.rand(1, 3, 64, 64), torch.full((1, 3, 64, 64), float('nan')), 'NaN'),
    (torch.rand(1, 3, 64, 64), torch.rand(1, 4, 64, 64), 'accepted: a Bx3xHxW or Bx1xHxW tensor'),
    (torch.rand(1, 3, 48, 64), torch.rand(1, 3, 64, 64), '(1, 3, 64, 64)'),
])
def test_the_region_loss_refuses_a_bad_batch_in_both_modes(mode, pred, target, fragment):
    from panda_plugin.engine.panda.region_loss import PandaRegionLoss

    with pytest.raises(PandaInputError) as error:
        PandaRegionLoss(mode=mode, segmenter='grid:2x2')(pred, target)
    assert fragment in str(error.value)


@pytest.mark.parametrize('val, fragment', [
    ({'panda': {'pictrues': 2}}, "unknown val.panda option 'pictrues' (did you mean 'pictures'?)"),
    ({'panda': {'every': 0}}, 'val.panda.every = 0; accepted: an integer >= 1'),
    ({'panda': {'every': '2'}}, "val.panda.every = '2'; accepted: an integer >= 1"),
    ({'metrics': {'panda': {'type': 'calculate_panda', 'crop_borders': 4}}},
     "unknown val.metrics.panda option 'crop_borders' (did you mean 'crop_border'?)"),
    ({'metrics': {'panda': {'type': 'calculate_panda', 'crop_border': -2}}},
     'val.metrics.panda.crop_border = -2; accepted: an integer >= 0'),
])
def test_validation_options_are_checked_when_the_model_is_built(val, fragment):
    from basicsr.models import build_model

    import panda_plugin  # noqa: F401 (registers PandaSRModel with BasicSR)

    def options(val):
        return {'model_type': 'PandaSRModel', 'is_train': False, 'dist': False, 'num_gpu': 0, 'scale': 4,
                'network_g': {'type': 'MSRResNet', 'num_feat': 8, 'num_block': 1, 'upscale': 4},
                'path': {'pretrain_network_g': None}, 'val': val}

    good = {'panda': {'pictures': 2}, 'metrics': {'panda': {'type': 'calculate_panda', 'crop_border': 0}}}
    model = build_model(options(good))
    assert type(model).__name__ == 'PandaSRModel' and model.monitor['pictures'] == 2
    with pytest.raises(PandaInputError) as error:
        build_model(options(val))
    assert fragment in str(error.value)
