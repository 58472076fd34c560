import numpy as np
import pytest

from panda_plugin import PandaInputError
from panda_plugin.core.taxonomy import DISTORTIONS, relation_ids_from_scores
from panda_plugin.engine.data import builder
from panda_plugin.engine.data.builder import BuildSettings, make_dataset
from panda_plugin.engine.data.dataset import PandaSetDataset
from panda_plugin.engine.data.lmdb_store import RecordReader
from panda_plugin.engine.data.versions import make_version
from panda_plugin.engine.regions import GridSegmenter
from panda_plugin.engine.scoring import build_scorer

SMALL = dict(pairs_per_image=3, size=64, seed=7)


def entries(path) -> dict:
    """Every record's stored bytes, by key."""
    reader = RecordReader(path)
    return {key: reader.raw(position) for position, (_, key) in enumerate(reader.index)}


@pytest.fixture(scope='module')
def easy(image_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp('db') / 'easy.lmdb'
    make_dataset(image_folder, out, BuildSettings(split='easy', **SMALL), progress=False)
    return out


def test_records_are_labelled_consistently(easy):
    reader = RecordReader(easy)
    assert len(reader) == 4 * SMALL['pairs_per_image']
    for position in range(len(reader)):
        record = reader.read(position)
        labels = record['labels']
        assert record['anchor'].shape == (64, 64, 3) and record['label_map'].shape == (64, 64)
        count = record['label_map'].max() + 1
        assert labels['kind'] == 'easy' and len(labels['relation']) == count
        for side in ('anchor', 'target'):
            version = labels[side]
            kind = version['version'].split(':')[1]
            distortions = set(version['distortion'])
            assert distortions <= {0, DISTORTIONS.index(kind)}
            degraded = np.array(version['distortion']) > 0
            assert 0.5 <= degraded.mean() <= 1.0
            assert all((d == 0) == (s == 0) for d, s in zip(version['distortion'], version['severity']))
        np.testing.assert_array_equal(
            labels['relation'], relation_ids_from_scores(labels['anchor']['score'], labels['target']['score']))


def test_a_blurred_region_is_labelled_blur_and_scores_below_its_clean_twin(small_astronaut):
    label_map = GridSegmenter(3, 3)(small_astronaut)
    scorer = build_scorer('ssim_color')
    blurred = make_version('single:blur', small_astronaut, label_map, scorer, seed=0, source='astronaut')
    clean = make_version('clean', small_astronaut, label_map, scorer, seed=0, source='astronaut')
    degraded = blurred.distortion > 0
    assert 0.5 <= degraded.mean() < 1.0
    assert set(blurred.distortion[degraded]) == {DISTORTIONS.index('blur')}
    assert (blurred.score[degraded] < clean.score[degraded] - 0.05).all()
    np.testing.assert_allclose(blurred.score[~degraded], 1.0, atol=0.02)
    changed = [np.abs(blurred.image[label_map == r].astype(int) - small_astronaut[label_map == r]).max() > 0
               for r in range(9)]
    assert changed == degraded.tolist()


def test_same_seed_same_bytes_whatever_the_workers(easy, image_folder, tmp_path):
    again = tmp_path / 'again.lmdb'
    make_dataset(image_folder, again, BuildSettings(split='easy', **SMALL), workers=2, progress=False)
    assert entries(again) == entries(easy)
    other = tmp_path / 'other.lmdb'
    make_dataset(image_folder, other, BuildSettings(split='easy', **{**SMALL, 'seed': 8}), progress=False)
    assert entries(other) != entries(easy)


def test_interrupted_build_never_reads_complete_and_resumes(image_folder, tmp_path, monkeypatch, easy):
    out = tmp_path / 'cut.lmdb'
    original = builder._process
    calls = []

    def failing(task):
        calls.append(task)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(task)

    monkeypatch.setattr(builder, '_process', failing)
    with pytest.raises(KeyboardInterrupt):
        make_dataset(image_folder, out, BuildSettings(split='easy', **SMALL), progress=False)
    assert not out.exists()
    with pytest.raises(PandaInputError, match='incomplete'):
        RecordReader(out.with_name('cut.lmdb.partial'))
    monkeypatch.setattr(builder, '_process', original)
    report = make_dataset(image_folder, out, BuildSettings(split='easy', **SMALL), progress=False)
    assert report.resumed == 2 and report.records == 12
    assert entries(out) == entries(easy)


def test_rerun_is_a_no_op_and_other_settings_never_overwrite(easy, image_folder):
    before = entries(easy)
    report = make_dataset(image_folder, easy, BuildSettings(split='easy', **SMALL), progress=False)
    assert report.already_complete and report.records == 12
    with pytest.raises(PandaInputError, match='already exists'):
        make_dataset(image_folder, easy, BuildSettings(split='hard', **SMALL), progress=False)
    assert entries(easy) == before


def test_shards_partition_the_work_and_read_together(easy, image_folder, tmp_path):
    shards = []
    for index in range(2):
        path = tmp_path / f'shard{index}.lmdb'
        make_dataset(image_folder, path, BuildSettings(split='easy', **SMALL, shard=(index, 2)),
                     progress=False)
        shards.append(path)
    combined = RecordReader(shards)
    whole = RecordReader(easy)
    assert sorted(key for _, key in combined.index) == sorted(key for _, key in whole.index)


def test_unreadable_images_are_reported_and_skipped(image_folder, tmp_path):
    folder = tmp_path / 'mixed'
    folder.mkdir()
    (folder / 'a.png').write_bytes((image_folder / 'astronaut.png').read_bytes())
    (folder / 'broken.jpg').write_bytes(b'\xff\xd8 truncated')
    report = make_dataset(folder, tmp_path / 'out.lmdb', BuildSettings(split='hard', **SMALL),
                          progress=False)
    assert report.records == 3 and [s for s, _ in report.skipped] == ['broken.jpg']


@pytest.mark.parametrize('split', ['medium', 'hard', 'train'])
def test_every_split_builds(split, image_folder, tmp_path):
    out = tmp_path / f'{split}.lmdb'
    make_dataset(image_folder, out, BuildSettings(split=split, pairs_per_image=4, size=48, seed=1),
                 progress=False)
    kinds = {RecordReader(out).read(i)['labels']['kind'] for i in range(16)}
    assert kinds <= {'easy', 'medium', 'hard', 'restoration'}
    if split != 'train':
        assert kinds == {split}


def test_dataset_augments_images_and_masks_identically(easy):
    plain = PandaSetDataset({'dataroot': str(easy), 'phase': 'val'})
    augmented = PandaSetDataset({'dataroot': [str(easy)], 'phase': 'train', 'seed': 3})
    transforms = [lambda a, k=k, f=f: np.rot90(a[:, ::-1] if f else a, k) for k in range(4) for f in (0, 1)]
    seen = set()
    for index in range(len(plain)):
        base, item = plain[index], augmented[index]
        anchor = base['anchor'].numpy().transpose(1, 2, 0)
        matches = [i for i, t in enumerate(transforms)
                   if np.array_equal(t(anchor), item['anchor'].numpy().transpose(1, 2, 0))
                   and np.array_equal(t(base['label_map'].numpy()), item['label_map'].numpy())
                   and np.array_equal(t(base['target'].numpy().transpose(1, 2, 0)),
                                      item['target'].numpy().transpose(1, 2, 0))]
        assert matches
        seen.add(matches[0])
        count = int(base['region_valid'].sum())
        assert base['relation'][:count].min() >= 0 and (base['relation'][count:] == -1).all()
    assert len(seen) > 1


def test_bad_settings_are_named(image_folder, tmp_path):
    with pytest.raises(PandaInputError, match="'extreme'"):
        make_dataset(image_folder, tmp_path / 'x.lmdb', BuildSettings(split='extreme'))
    with pytest.raises(PandaInputError, match='shard 2/2'):
        make_dataset(image_folder, tmp_path / 'x.lmdb', BuildSettings(shard=(2, 2)))
    with pytest.raises(PandaInputError, match='no images'):
        make_dataset(tmp_path, tmp_path / 'x.lmdb', BuildSettings())
    with pytest.raises(PandaInputError, match='not an LMDB'):
        RecordReader(tmp_path)


def test_bundled_training_images_are_disjoint_from_the_bench_and_tiled_at_native_resolution():
    from panda_plugin.engine.data.bundled import TILE_MIN_SIDE, bundled_images, corner_tiles, packaged_image

    train = dict(bundled_images('train'))
    bench = dict(bundled_images('bench'))
    assert not set(train) & set(bench)
    astronaut = packaged_image('skimage', 'astronaut')
    tiles = [train[f'skimage_astronaut_tile{k}'] for k in range(4)]
    assert [t.shape for t in tiles] == [(256, 256, 3)] * 4
    np.testing.assert_array_equal(tiles[0], astronaut[:256, :256])
    np.testing.assert_array_equal(tiles[3], astronaut[256:, 256:])
    assert corner_tiles(np.zeros((TILE_MIN_SIDE - 1, 900, 3), np.uint8)) == []
    assert not any(name.startswith(tuple(bench)) for name in train)
