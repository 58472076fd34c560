from pathlib import Path

import pytest
import torch

from panda_plugin import PandaInputError, load_model
from panda_plugin.engine.panda.models.heads import decode
from panda_plugin.engine.panda.models.loss import PandaLoss
from panda_plugin.engine.panda.models.panda_arch import PANDA
from panda_plugin.engine.panda.weights import export_weights

SMALL = dict(encoder='mobilenetv3_small_100', input_size=64, dim=32, tokens=130, blocks=1, heads=2)


@pytest.fixture(scope='module')
def network():
    torch.manual_seed(0)
    return PANDA(**SMALL).eval()


def random_pair(height, width, regions, seed=0):
    generator = torch.Generator().manual_seed(seed)
    anchor, target = torch.rand(2, 1, 3, height, width, generator=generator)
    labels = torch.randint(0, regions, (1, height, width), generator=generator)
    labels.view(-1)[:regions] = torch.arange(regions)  # every region present
    return anchor, target, labels


@pytest.mark.parametrize('height, width, regions', [(64, 64, 1), (40, 72, 7), (97, 130, 24), (150, 150, 128)])
def test_output_shapes_for_any_size_and_region_count(network, height, width, regions):
    outputs = network(*random_pair(height, width, regions))
    assert outputs['relation'].shape == (1, regions, 5)
    for side in ('anchor', 'target'):
        assert outputs[f'{side}_distortion'].shape == (1, regions, 15)
        assert outputs[f'{side}_severity'].shape == (1, regions, 4)
        assert outputs[f'{side}_score'].shape == (1, regions)
        assert ((outputs[f'{side}_score'] >= 0) & (outputs[f'{side}_score'] <= 1)).all()


def test_more_regions_than_tokens_is_an_error(network):
    with pytest.raises(ValueError, match='131 regions exceed the token pool of 130'):
        network(*random_pair(64, 64, 131))


def test_eval_is_deterministic_and_swapping_mirrors_exactly(network):
    anchor, target, labels = random_pair(80, 80, 12)
    with torch.no_grad():
        first, again = network(anchor, target, labels), network(anchor, target, labels)
        swapped = network(target, anchor, labels)
    assert all(torch.equal(first[k], again[k]) for k in first)
    forward, backward = decode(first), decode(swapped)
    mirrored = torch.tensor([0, 3, 4, 1, 2])[forward.relation]
    assert torch.equal(mirrored, backward.relation)
    assert torch.equal(forward.anchor_distortion, backward.target_distortion)
    assert torch.equal(forward.anchor_severity, backward.target_severity)
    assert torch.allclose(forward.anchor_score, backward.target_score, atol=1e-6)


def test_decoded_severity_is_clean_exactly_when_the_distortion_is():
    outputs = {'relation': torch.zeros(1, 3, 5)}
    for side in ('anchor', 'target'):
        distortion = torch.zeros(1, 3, 15)
        distortion[0, 0, 0] = distortion[0, 1, 4] = distortion[0, 2, 9] = 5
        severity = torch.zeros(1, 3, 4)
        severity[0, :, 0] = 9  # clean is most likely, but only region 0 is undistorted
        severity[0, :, 2] = 1
        outputs.update({f'{side}_distortion': distortion, f'{side}_severity': severity,
                        f'{side}_score': torch.full((1, 3), 0.5)})
    decoded = decode(outputs)
    assert decoded.anchor_distortion.tolist() == [[0, 4, 9]]
    assert decoded.anchor_severity.tolist() == [[0, 2, 2]]


def test_basicsr_build_network_builds_the_arch():
    from panda_plugin.adapters.basicsr.registry import register_plugin

    register_plugin()
    from basicsr.archs import build_network

    network = build_network({'type': 'PANDA', **SMALL})
    assert isinstance(network, PANDA) and len(network.token_pool.tokens) == 130


def test_loss_is_finite_and_the_margin_term_is_optional(network):
    anchor, target, labels = random_pair(64, 64, 5)
    network.train()
    outputs = network(anchor, target, labels)
    network.eval()
    batch = {'region_valid': torch.tensor([[True] * 4 + [False]]),
             'relation': torch.tensor([[0, 1, 2, 3, -1]])}
    for side in ('anchor', 'target'):
        batch[f'{side}_distortion'] = torch.tensor([[0, 3, 5, 14, -1]])
        batch[f'{side}_severity'] = torch.tensor([[0, 1, 2, 3, -1]])
        batch[f'{side}_score'] = torch.tensor([[1.0, 0.7, 0.4, 0.1, 0.0]])
    plain_total, plain = PandaLoss()(outputs, batch)
    margin_total, with_margin = PandaLoss(margin_weight=0.5)(outputs, batch)
    assert 'l_margin' not in plain and with_margin['l_margin'] > 0
    assert torch.isclose(margin_total, plain_total + 0.5 * with_margin['l_margin'])
    margin_total.backward()
    assert all(torch.isfinite(p.grad).all() for p in network.parameters() if p.grad is not None)


def test_weights_export_round_trip_and_errors(network, tmp_path, monkeypatch):
    checkpoint = tmp_path / 'net_g_1.pth'
    torch.save({'params': network.state_dict()}, checkpoint)
    options = tmp_path / 'options.yml'
    options.write_text('network_g:\n  type: PANDA\n' + ''.join(f'  {k}: {v}\n' for k, v in SMALL.items()))
    out = export_weights(checkpoint, options, tmp_path / 'small.safetensors')
    loaded = load_model(out)
    assert not loaded.training and loaded.weights_name == 'small'
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), network.state_dict().values()))
    monkeypatch.setenv('PANDA_WEIGHTS', str(out))
    assert load_model().weights_name == 'small'
    corrupt = tmp_path / 'corrupt.safetensors'
    corrupt.write_bytes(b'not weights')
    with pytest.raises(PandaInputError, match='cannot read weights file'):
        load_model(corrupt)
    with pytest.raises(PandaInputError, match='do not fit PANDA'):
        load_model(checkpoint)  # a .pth needs its arch options
    with pytest.raises(PandaInputError, match="weights file 'nowhere.pth' not found"):
        load_model('nowhere.pth')


OPTION_FILES = sorted((Path(__file__).parents[1] / 'options').glob('*.yml'))


def _first_conv_width(network) -> int:
    return next(m for m in network.modules() if isinstance(m, torch.nn.Conv2d)).out_channels


#: What each network option became in the built network, read from its layers (an option
#: missing here is read from the attribute of its name).
BUILT = {
    'PANDA': {
        'encoder': lambda n: n.encoder.backbone.pretrained_cfg['architecture'],
        'encoder_levels': lambda n: list(n.encoder.backbone.feature_info.out_indices),
        'freeze_encoder': lambda n: not any(p.requires_grad for p in n.encoder.backbone.parameters()),
        'dim': lambda n: n.heads.score[0].in_features,
        'tokens': lambda n: n.token_pool.tokens.shape[0],
        'blocks': lambda n: len(n.decoder.blocks),
        'heads': lambda n: n.decoder.blocks[0].self_attention.num_heads,
        'ffn_ratio': lambda n: n.decoder.blocks[0].ffn[0].out_features // n.decoder.blocks[0].ffn[0].in_features,
    },
    'MSRResNet': {
        'num_in_ch': lambda n: n.conv_first.in_channels,
        'num_out_ch': lambda n: n.conv_last.out_channels,
        'num_feat': lambda n: n.conv_first.out_channels,
        'num_block': lambda n: len(n.body),
    },
    'PointDistanceNet': {
        'width': _first_conv_width,
        'heads': lambda n: n.cross.num_heads,
        'dim': lambda n: n.encoder.head.out_channels,
    },
    'ClickBoundaryNet': {'width': _first_conv_width},
    'PanopticSegmenterNet': {'width': _first_conv_width},
    'ScoreUNet': {
        'channels': lambda n: n.head.in_channels,
        'widths': lambda n: [n.head.out_channels] + [block.conv1.out_channels for block in n.down],
        'emb_dim': lambda n: n.embed[0].in_features,
    },
}


def _loss_option(loss, key: str):
    """The value a loss holds for one of its options."""
    stem = key.removesuffix('_weight')
    for table, name in ((getattr(loss, 'weights', None), stem), (getattr(loss, 'weights', None), f'l_{stem}'),
                        (getattr(loss, 'smoothing', None), key.removesuffix('_smoothing'))):
        if isinstance(table, dict) and name in table:
            return table[name]
    if key == 'steps':
        return len(loss.levels)
    if key == 'weights':
        return loss.metric.network.weights_name
    if key == 'segmenter':
        return loss.metric.segmenter
    return getattr(loss, key)


@pytest.mark.parametrize('path', OPTION_FILES, ids=[p.name for p in OPTION_FILES])
def test_option_files_build_their_network_and_losses(path):
    """Each option file's network is the arch it names with every option in effect (read back
    from the layers), and each loss holds the file's weights."""
    from basicsr.archs import build_network
    from basicsr.losses import build_loss

    from panda_plugin.adapters.basicsr.registry import register_plugin
    from panda_plugin.core.option_file import load_option_file
    from panda_plugin.engine.regions import build_segmenter

    register_plugin()
    options = load_option_file(path)
    if options['model_type'] == 'DPRestorationModel':  # no network: its dp block is checked instead
        from panda_plugin.adapters.basicsr.dp_model import dp_options

        assert dp_options(options)['spec'].startswith(options['dp']['degradation'])
        return
    network_opt = dict(options['network_g'])
    network_opt.pop('encoder_checkpoint', None)  # a local file users provide
    network = build_network(dict(network_opt))
    kind = network_opt.pop('type')
    assert type(network).__name__ == kind
    readers = BUILT[kind]
    built = {key: readers[key](network) if key in readers else getattr(network, key) for key in network_opt}
    assert built == {key: list(value) if isinstance(value, (list, tuple)) else value
                     for key, value in network_opt.items()}
    train = options.get('train') or {}
    losses = [train[k] for k in ('loss_opt', 'pixel_opt', 'panda_opt') if k in train]
    assert losses or path.name.startswith('test_')
    for loss_opt in losses:
        loss_opt = dict(loss_opt)
        loss = build_loss(dict(loss_opt))
        assert type(loss).__name__ == loss_opt.pop('type')
        for key, value in loss_opt.items():
            held = _loss_option(loss, key)
            if key == 'segmenter':
                expected = build_segmenter(value)
                assert (type(held), vars(held)) == (type(expected), vars(expected)), (key, value)
            else:
                assert held == value, (key, held, value)


def test_encoder_skips_the_blocks_after_its_last_level_with_the_same_features_and_weights_files():
    import timm

    from panda_plugin.engine.panda.models.encoder import MultiScaleEncoder

    torch.manual_seed(0)
    full = timm.create_model('mobilenetv3_small_100', features_only=True, out_indices=(1, 2, 3)).eval()
    encoder = MultiScaleEncoder('mobilenetv3_small_100', 32, (1, 2, 3)).eval()
    assert len(encoder.backbone.blocks) < len(full.blocks)
    encoder.backbone.load_state_dict(full.state_dict())  # a file with every block still loads
    images = torch.rand(1, 3, 96, 80)
    with torch.no_grad():
        for ours, theirs in zip(encoder.backbone(images), full(images)):
            assert torch.equal(ours, theirs)
    assert not any(key.startswith(f'blocks.{len(encoder.backbone.blocks)}.') for key in encoder.backbone.state_dict())
