import numpy as np
import pytest

from panda_plugin import PandaInputError
from panda_plugin.core.taxonomy import DISTORTIONS, RELATIONS, relation_ids_from_scores
from panda_plugin.engine.data.lmdb_store import RecordReader
from panda_plugin.engine.panda.data import builder
from panda_plugin.engine.panda.data.builder import BuildSettings, make_dataset
from panda_plugin.engine.panda.data.dataset import PandaSetDataset
from panda_plugin.engine.panda.data.versions import make_version
from panda_plugin.engine.panda.scoring import build_scorer
from panda_plugin.engine.regions import GridSegmenter

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
        by_hand = [relation_by_hand(a, t) for a, t in zip(labels['anchor']['score'], labels['target']['score'])]
        assert [RELATIONS[i] for i in labels['relation']] == by_hand


def relation_by_hand(anchor: float, target: float) -> str:
    """The paper's rule, written out: a gap under 0.1 is the same, from 0.3 significant."""
    gap = anchor - target
    if abs(gap) < 0.1:
        return 'same'
    return ('significantly_' if abs(gap) >= 0.3 else 'slightly_') + ('better' if gap > 0 else 'worse')


def test_relations_from_scores_by_hand():
    anchor = [0.5, 0.5625, 0.4375, 0.625, 0.375, 0.8125, 0.1875, 1.0, 0.0, 0.75]
    target = [0.5] * 9 + [0.75]
    #         gap 0 / +-0.0625: same; +-0.125: slightly; +-0.3125: significantly; +-0.5: significantly
    expected = ['same', 'same', 'same', 'slightly_better', 'slightly_worse', 'significantly_better',
                'significantly_worse', 'significantly_better', 'significantly_worse', 'same']
    assert [RELATIONS[i] for i in relation_ids_from_scores(anchor, target)] == expected
    assert expected == [relation_by_hand(a, t) for a, t in zip(anchor, target)]


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


def test_rescaled_versions_are_labelled_blur_or_pixelate_with_severity_from_the_score(small_astronaut):
    from panda_plugin.engine.panda.data.versions import severity_from_score

    label_map = GridSegmenter(3, 3)(small_astronaut)
    scorer = build_scorer('ssim_psnr')
    for name, kind in (('rescale:bicubic:4', 'blur'), ('rescale:lanczos:3', 'blur'),
                       ('rescale:nearest:4', 'pixelate')):
        version = make_version(name, small_astronaut, label_map, scorer, seed=0, source='astronaut')
        assert not np.array_equal(version.image, small_astronaut)
        assert (version.score < 0.95).all()
        assert set(version.distortion[version.severity > 0]) == {DISTORTIONS.index(kind)}
        assert (version.severity > 0).mean() > 0.5
        assert list(version.severity) == [severity_from_score(kind, s) for s in version.score]
    mild = make_version('rescale:bicubic:2', small_astronaut, label_map, scorer, seed=0, source='astronaut')
    strong = make_version('rescale:bicubic:8', small_astronaut, label_map, scorer, seed=0, source='astronaut')
    assert strong.score.mean() < mild.score.mean() - 0.1 and strong.severity.mean() > mild.severity.mean()


def test_severity_bins_follow_the_measured_scores():
    """Worked by hand from the measured means: blur (0.795, 0.652, 0.552) puts the bounds at
    (1 + 0.795) / 2 = 0.8975, (0.795 + 0.652) / 2 = 0.7235 and (0.652 + 0.552) / 2 = 0.602;
    noise (0.533, 0.215, 0.103) at 0.7665, 0.374 and 0.159."""
    from panda_plugin.engine.panda.data.versions import SEVERITY_SCORES, severity_from_score

    assert SEVERITY_SCORES['blur'] == (0.795, 0.652, 0.552) and SEVERITY_SCORES['noise'] == (0.533, 0.215, 0.103)
    blur = {0.99: 0, 0.898: 0, 0.897: 1, 0.795: 1, 0.724: 1, 0.723: 2, 0.603: 2, 0.601: 3, 0.0: 3}
    noise = {1.0: 0, 0.767: 0, 0.766: 1, 0.375: 1, 0.373: 2, 0.160: 2, 0.158: 3, 0.0: 3}
    for kind, table in (('blur', blur), ('noise', noise)):
        assert {score: severity_from_score(kind, score) for score in table} == table, kind
    for kind, means in SEVERITY_SCORES.items():
        assert [severity_from_score(kind, m) for m in means] == [1, 2, 3]


def test_whole_image_versions_label_every_region_alike(small_astronaut):
    label_map = GridSegmenter(3, 3)(small_astronaut)
    version = make_version('whole:blur:2', small_astronaut, label_map, build_scorer('ssim_psnr'),
                           seed=0, source='astronaut')
    assert set(version.distortion) == {DISTORTIONS.index('blur')} and set(version.severity) == {2}
    assert (version.score < 0.95).all()
    # no region is left untouched: the whole image changed
    changed = np.abs(version.image.astype(int) - small_astronaut).sum(axis=2) > 0
    assert all(changed[label_map == r].mean() > 0.5 for r in range(9))


def test_residue_rule_names_what_dominates_a_filtered_region(small_astronaut):
    from panda_plugin.engine.panda.data.versions import residue_share

    label_map = GridSegmenter(2, 2)(small_astronaut)
    noisy = np.clip(small_astronaut + np.random.default_rng(0).normal(0, 20, small_astronaut.shape), 0, 255
                    ).astype(np.uint8)
    np.testing.assert_allclose(residue_share(noisy, noisy, small_astronaut, label_map), 1.0)
    np.testing.assert_allclose(residue_share(small_astronaut, noisy, small_astronaut, label_map), 0.0)
    scorer = build_scorer('ssim_psnr')
    smoothed = make_version('denoise:median:3', small_astronaut, label_map, scorer, seed=0, source='a')
    kept = make_version('denoise:bilateral:1', small_astronaut, label_map, scorer, seed=0, source='a')
    assert set(smoothed.distortion) == {DISTORTIONS.index('blur')}
    assert set(kept.distortion) == {DISTORTIONS.index('noise')}
    deblocked = make_version('deblock:bilateral:3', small_astronaut, label_map, scorer, seed=0, source='a')
    assert DISTORTIONS.index('compression') in set(deblocked.distortion)


@pytest.mark.parametrize('name', ['denoise:nlm:2', 'deblock:guided:1', 'sharpen:2:3', 'whole:noise:1'])
def test_new_versions_are_deterministic_by_seed(small_astronaut, name):
    label_map = GridSegmenter(2, 2)(small_astronaut)
    scorer = build_scorer('ssim_psnr')
    first = make_version(name, small_astronaut, label_map, scorer, seed=0, source='a')
    again = make_version(name, small_astronaut, label_map, scorer, seed=0, source='a')
    np.testing.assert_array_equal(first.image, again.image)
    assert first.labels() == again.labels()
    if name.startswith(('denoise', 'whole:noise')):
        other = make_version(name, small_astronaut, label_map, scorer, seed=1, source='a')
        assert not np.array_equal(first.image, other.image)


def test_realistic_split_pairs_clean_images_with_themselves_and_restored_outputs(image_folder, tmp_path):
    out = tmp_path / 'realistic.lmdb'
    make_dataset(image_folder, out, BuildSettings(split='realistic', pairs_per_image=10, size=48, seed=1),
                 progress=False)
    reader = RecordReader(out)
    kinds = set()
    for position in range(len(reader)):
        record = reader.read(position)
        labels = record['labels']
        kinds.add(labels['kind'])
        if labels['kind'] == 'identity':
            np.testing.assert_array_equal(record['anchor'], record['target'])
            assert set(labels['relation']) == {0}
            assert set(labels['anchor']['distortion']) == set(labels['target']['distortion']) == {0}
        if labels['kind'] in ('whole', 'restored'):
            assert 'clean' in (labels['anchor']['version'], labels['target']['version'])
    assert kinds <= {'identity', 'whole', 'restored', 'restored_pair'} and len(kinds) >= 3


def test_light_split_pairs_light_noise_and_grain_named_noise_minor(image_folder, tmp_path):
    out = tmp_path / 'light.lmdb'
    make_dataset(image_folder, out, BuildSettings(split='light', pairs_per_image=12, size=48, seed=1), progress=False)
    reader = RecordReader(out)
    versions = set()
    for position in range(len(reader)):
        labels = reader.read(position)['labels']
        assert labels['kind'] in ('light', 'identity', 'whole')
        if labels['kind'] == 'light':
            side = 'anchor' if labels['anchor']['version'] != 'clean' else 'target'
            assert labels[side]['version'].startswith('light:')
            versions.add(labels[side]['version'].split(':')[1])
            assert set(labels[side]['distortion']) == {DISTORTIONS.index('noise')}
            assert set(labels[side]['severity']) == {1}
    assert versions == {'noise', 'grain'}


def test_film_grain_has_the_asked_spread_and_is_mostly_common_to_the_channels():
    from panda_plugin.engine.distortions.degradations import film_grain, gaussian_noise

    grey = np.full((256, 256, 3), 0.5, np.float32)
    grain = film_grain(grey, 0.03, np.random.default_rng(0)) - grey
    noise = gaussian_noise(grey, 0.03, np.random.default_rng(0)) - grey
    assert grain.std(axis=(0, 1)) == pytest.approx([0.03] * 3, rel=0.05)
    assert np.corrcoef(grain[..., 0].ravel(), grain[..., 1].ravel())[0, 1] > 0.7
    assert abs(np.corrcoef(noise[..., 0].ravel(), noise[..., 1].ravel())[0, 1]) < 0.05
    # correlated over neighbouring pixels, unlike independent noise
    assert np.corrcoef(grain[:, :-1, 0].ravel(), grain[:, 1:, 0].ravel())[0, 1] > 0.5


def test_photo_views_crop_at_native_resolution_and_hold_out_the_bench():
    from panda_plugin.engine.data.photos import HELD_OUT, photo_views, subset_of

    image = np.random.default_rng(0).integers(0, 256, (700, 1100, 3), dtype=np.uint8)
    views = photo_views(image, 'photo', 128)
    again = photo_views(image, 'photo', 128)
    assert [n for n, _ in views] == [n for n, _ in again]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(views, again))
    whole = dict(views)['photo_whole']
    assert max(whole.shape[:2]) == 1024 or whole.shape == image.shape
    native = [v for n, v in views if n.endswith('_x1')]
    assert native and all(v.shape == (128, 128, 3) for v in native)
    for view in native:  # a native crop is a window of the photograph itself
        hits = np.argwhere((image[:, :, 0] == view[0, 0, 0]) & (image[:, :, 1] == view[0, 0, 1]))
        assert any(np.array_equal(image[y:y + 128, x:x + 128], view) for y, x in hits)
    assert all(subset_of(name) == 'bench' for name in HELD_OUT)
    assert subset_of('Fossa_by_Jasper_Roks.jpg') == 'train'
