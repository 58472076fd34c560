"""Option files and checkpoints cannot run code, exhaust memory or reach the network, and every
mistake in them is one line before BasicSR builds anything (no run folder is left behind).

A payload in each case would create a marker file; the marker must never appear."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from cli_checks import cli_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.option_file import MAX_BYTES, load_option_file, load_options

ROOT = Path(__file__).resolve().parents[1]


def payload(marker: Path) -> str:
    return f'"touch {marker}"'


def dangerous_tags(marker: Path) -> list[str]:
    """YAML values that run ``touch marker`` under an unsafe loader."""
    command = payload(marker)
    return [f'!!python/object/apply:os.system [{command}]',
            f'!!python/object/new:os.system [{command}]',
            f'!!python/object/apply:subprocess.call [[touch, "{marker}"]]',
            '!!python/name:os.system',
            '!!python/module:os',
            f"!!python/object/apply:builtins.exec ['import os; os.system({command})']"]


class Evil:
    """A pickle payload: unpickling it creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


# The loader -----------------------------------------------------------------------------------

def test_every_python_tag_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'MARKER'
    for value in dangerous_tags(marker):
        with pytest.raises(PandaInputError, match=r'line 2 column 7: tag !!python/\S+ is refused; accepted: plain'):
            load_options(f'name: x\nevil: {value}\n', 'evil.yml')
    for value, tag in (('!!binary aGk=', '!!binary'), ('!custom 1', '!custom'), ('!!set {a: null}', '!!set')):
        with pytest.raises(PandaInputError, match=f'tag {tag} is refused'):
            load_options(f'a: {value}\n')
    assert not marker.exists()


def test_billion_laughs_and_deep_nesting_are_refused_at_once():
    wide = 'a: &a [x, x, x, x, x, x, x, x, x]\n' + ''.join(
        f'{chr(98 + i)}: &{chr(98 + i)} [' + ', '.join([f'*{chr(97 + i)}'] * 9) + ']\n' for i in range(8))
    deep = 'a0: &a0 [x, x]\n' + ''.join(f'a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n' for i in range(1, 31))
    for text, fragment in ((wide, 'more than 64 aliases'), (deep, 'more than 100000 values once aliases are expanded'),
                           ('a: ' + '[' * 5000 + ']' * 5000, 'nesting deeper than 32 levels'),
                           ('x' * (MAX_BYTES + 1), 'larger than 1024 KiB')):
        with pytest.raises(PandaInputError, match=fragment):
            load_options(text)


@pytest.mark.parametrize('text, fragment', [
    ('- a\n- b\n', 'is a list at the top level; accepted: a mapping of options'),
    ('', 'is empty at the top level'),
    (b'name: \xff\xfe\n', r'line 1: byte 0xff is not UTF-8; accepted: a UTF-8 text file'),
    ('a: {b: 1, c\n', "line 2 column 1: while parsing a flow mapping: expected ',' or '}'"),
    ('a: 1\na: 2\n', "line 2 column 1: key 'a' is given twice in one mapping"),
    ('a: 1\n---\nb: 2\n', 'expected a single document'),
    ('? [1]\n: 2\n', 'a key is a list'),
])
def test_malformed_files_are_one_line(text, fragment):
    with pytest.raises(PandaInputError, match=fragment) as caught:
        load_options(text, 'opt.yml')
    assert '\n' not in str(caught.value)


def test_plain_options_keep_order_types_and_no_shared_objects(tmp_path):
    options = load_options('name: 2024-01-01\nlr: !!float 2e-4\nbase: &b {a: [1]}\nother:\n  <<: *b\n  c: ~\n')
    assert list(options) == ['name', 'lr', 'base', 'other'] and options['name'] == '2024-01-01'
    assert options['lr'] == 2e-4 and options['other'] == {'a': [1], 'c': None}
    assert options['other']['a'] is not options['base']['a']
    for path in sorted((ROOT / 'options').rglob('*.yml')):  # every shipped option file loads
        assert load_option_file(path)['name']


@st.composite
def option_files(draw, marker: Path):
    """Random YAML: nested mappings and lists of scalars, some values tagged."""
    tags = ['', '', '!!str ', '!!int ', '!!float ', '!!bool ', '!!null ', '!!binary ', '!foo ', '!!python/none ', *(
        tag.split(' ', 1)[0] + ' ' for tag in dangerous_tags(marker))]
    scalars = st.one_of(st.integers(-10, 10).map(str), st.sampled_from(['~', 'true', 'x', '1.5', '"a: b"', '[]', '{}']),
                        st.sampled_from(dangerous_tags(marker)))
    value = st.recursive(st.tuples(st.sampled_from(tags), scalars).map(''.join),
                         lambda inner: st.one_of(st.lists(inner, max_size=3).map(lambda v: '[' + ', '.join(v) + ']'),
                                                 st.dictionaries(st.sampled_from('abcd'), inner, max_size=3).map(
                                                     lambda d: '{' + ', '.join(f'{k}: {v}' for k, v in d.items()) + '}')),
                         max_leaves=8)
    keys = draw(st.lists(st.sampled_from(['name', 'datasets', 'network_g', 'k', '<<', '? x']), min_size=1, max_size=4))
    return ''.join(f'{key}: {draw(value)}\n' for key in keys)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_option_files_load_as_plain_data_or_one_line(tmp_path, data):
    marker = tmp_path / 'MARKER'
    text = data.draw(option_files(marker))
    try:
        options = load_options(text, 'fuzz.yml')
    except PandaInputError as error:
        assert '\n' not in str(error) and str(error).startswith('fuzz.yml')
    else:
        def plain(value):
            if isinstance(value, dict):
                return all(isinstance(k, (str, int, float, bool, type(None))) and plain(v) for k, v in value.items())
            if isinstance(value, list):
                return all(plain(v) for v in value)
            return isinstance(value, (str, int, float, bool, type(None)))

        assert isinstance(options, dict) and plain(options)
    assert not marker.exists()


# The commands ---------------------------------------------------------------------------------

def run_panda(*arguments, cwd) -> subprocess.CompletedProcess:
    environment = {**os.environ, 'PYTHONPATH': str(ROOT)}
    return subprocess.run([sys.executable, '-m', 'panda_plugin.adapters.cli', *map(str, arguments)], cwd=cwd,
                          capture_output=True, text=True, env=environment, timeout=300)


def test_train_test_and_export_weights_refuse_tags_before_importing_torch(tmp_path):
    marker = tmp_path / 'MARKER'
    evil = tmp_path / 'evil.yml'
    evil.write_text(f'name: evil\nmodel_type: PandaModel\nnum_gpu: 0\nnetwork_g:\n  type: PANDA\n'
                    f'  encoder: {dangerous_tags(marker)[0]}\ndatasets: {{}}\n')
    torch.save({'params': {}}, tmp_path / 'net_g_1.pth')
    for arguments in (['train', '-opt', evil], ['test', '-opt', evil, '--force_yml', 'name=x'],
                      ['export-weights', tmp_path / 'net_g_1.pth', '--opt', evil, '--out', tmp_path / 'w.safetensors']):
        result = run_panda(*arguments, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == '', result
        assert result.stderr == (f'panda {arguments[0]}: error: option file {str(evil)!r}, line 6 column 12: tag '
                                 '!!python/object/apply:os.system is refused; accepted: plain data (mappings, lists, '
                                 'strings, numbers, true/false, null)\n')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['evil.yml', 'net_g_1.pth']
    assert not marker.exists()


def test_basicsr_own_pipelines_and_loader_are_safe_after_import_panda_plugin(tmp_path):
    marker = tmp_path / 'MARKER'
    evil = tmp_path / 'evil.yml'
    evil.write_text(f'name: evil\nmodel_type: SRModel\nnum_gpu: 0\nevil: {dangerous_tags(marker)[0]}\n')
    script = f"""
import os, sys, yaml
import panda_plugin
from panda_plugin.adapters.import_hooks import import_basicsr
import_basicsr()
from basicsr.train import train_pipeline
from basicsr.test import test_pipeline
from basicsr.utils.options import ordered_yaml
for pipeline in (train_pipeline, test_pipeline):
    sys.argv = ['basicsr', '-opt', {str(evil)!r}]
    try:
        pipeline(os.getcwd())
    except ValueError as error:
        print(type(error).__name__, error)
with open({str(evil)!r}) as handle:
    try:
        yaml.load(handle, Loader=ordered_yaml()[0])
    except ValueError as error:
        print(type(error).__name__, error)
"""
    result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, 'PYTHONPATH': str(ROOT)}, timeout=300)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 3, result
    assert all(line.startswith(f"PandaInputError option file {str(evil)!r}, line 4 column 7: tag "
                               '!!python/object/apply:os.system is refused') for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['evil.yml'] and not marker.exists()


def force_yml_payload(marker: Path) -> str:
    """A ``--force_yml`` entry whose key BasicSR's ``exec`` would run: it creates ``marker``."""
    return f'name"]+str(__import__("pathlib").Path({str(marker)!r}).touch())#=x'


def test_force_yml_keys_are_plain_names_or_integers():
    from panda_plugin.adapters.option_loading import check_force_yml

    check_force_yml(['-opt', 'x.yml', '--force_yml', 'train:ema_decay=0.999', 'datasets:val_1:name=a', 'x:0=1'])
    accepted = r'accepted: KEY:SUB:...=VALUE, each key a plain name \(letters, digits, _\) or an integer$'
    for arguments, named in ((['--force_yml', 'name"]=1'], "key 'name\"]'"), (['--force_y', 'a:b()=1'], "key 'b\\(\\)'"),
                             (['--force_yml=a: b=1'], "key ' b'"), (['--force_yml', 'ok=1', 'a=b=c'], "entry 'a=b=c'")):
        with pytest.raises(PandaInputError, match=f'^--force_yml {named}.*; {accepted}'):
            check_force_yml(['-opt', 'x.yml', *arguments])


def test_force_yml_keys_never_reach_basicsr_exec(tmp_path):
    marker = tmp_path / 'MARKER'
    options = tmp_path / 'ok.yml'
    options.write_text('name: ok\nmodel_type: SRModel\nnum_gpu: 0\ndatasets:\n  test_1: {name: a, type: x}\n')
    result = run_panda('test', '-opt', options, '--force_yml', force_yml_payload(marker), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == '', result
    assert result.stderr.startswith("panda test: error: --force_yml key 'name\"]+str(__import__(\"pathlib\")")
    assert result.stderr.count('\n') == 1 and not marker.exists()
    # BasicSR's own parse_options after ``import panda_plugin``; unwrapped, the same entry runs its payload
    script = f"""
import sys
import panda_plugin
from panda_plugin.adapters.import_hooks import import_basicsr
import_basicsr()
from basicsr.utils import options
for parse in (options.parse_options, options.parse_options.__wrapped__):
    sys.argv = ['basicsr', '-opt', {str(options)!r}, '--force_yml', {force_yml_payload(marker)!r}]
    try:
        parse('.', is_train=False)
    except Exception as error:
        print(type(error).__name__, error)
    print('marker', __import__('os').path.exists({str(marker)!r}))
"""
    result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, 'PYTHONPATH': str(ROOT)}, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith(('Panda', 'marker'))]
    assert result.returncode == 0 and lines[0].startswith("PandaInputError --force_yml key 'name\"]+str("), result
    assert lines[1:] == ['marker False', 'marker True']  # the check, not the payload, made the difference


# The checks of the option tree ----------------------------------------------------------------

@pytest.fixture
def panda_options(tmp_path, tiny_bench, monkeypatch):
    """A PANDA training option file that passes every check, and a function writing variants."""
    monkeypatch.chdir(tmp_path)
    base = yaml.safe_load(f"""
name: checked
model_type: PandaModel
num_gpu: 0
datasets:
  train: {{name: bench, type: PandaSetDataset, dataroot: {tiny_bench}, max_regions: 64,
           batch_size_per_gpu: 2, num_worker_per_gpu: 0}}
  val: {{name: bench, type: PandaSetDataset, dataroot: {tiny_bench}, max_regions: 64}}
network_g: {{type: PANDA, encoder: resnet18, tokens: 64}}
path: {{pretrain_network_g: ~}}
train:
  optim_g: {{type: Adam, lr: 0.001}}
  total_iter: 1
  loss_opt: {{type: PandaLoss}}
val: {{val_freq: 1, save_img: false}}
logger: {{print_freq: 1, save_checkpoint_freq: 1}}
""")

    def variant(change=lambda options: None, text: str | None = None) -> Path:
        options = yaml.safe_load(yaml.safe_dump(base))
        change(options)
        path = tmp_path / 'opt.yml'
        path.write_bytes(text.encode() if isinstance(text, str) else text or yaml.safe_dump(options).encode())
        return path

    return variant


def _drop(*keys):
    def change(options):
        block = options
        for key in keys[:-1]:
            block = block[key]
        del block[keys[-1]]
    return change


def _set(value, *keys):
    def change(options):
        block = options
        for key in keys[:-1]:
            block = block[key]
        block[keys[-1]] = value
    return change


@pytest.mark.parametrize('change, fragment', [
    (_drop('name'), 'name is missing; accepted: a run name'),
    (_drop('datasets'), 'datasets is missing; accepted: a mapping of phases'),
    (_drop('network_g'), 'network_g is missing; accepted: a mapping with type:'),
    (_set('../up', 'name'), r"name = '../up'; accepted: a folder name"),
    (_set([1, 2], 'datasets', 'train'), r'datasets.train = \[1, 2\]; accepted: a mapping'),
    (_set('PandaModle', 'model_type'), r"model_type = 'PandaModle' is not registered in BasicSR \(did you mean "
                                       r"'PandaModel'\?\)"),
    (_set('x', 'network_g', 'tokens'), r"network_g.tokens = 'x'; accepted: an integer"),
    (_set(128, 'network_g', 'num_tokens'), r"unknown network_g option 'num_tokens' \(did you mean 'tokens'\?\)"),
    (_set(32, 'network_g', 'tokens'), r'network_g.tokens = 32 is below datasets.train.max_regions = 64'),
    (_set('hf-hub:timm/resnet18.a1_in1k', 'network_g', 'encoder'),
     r"network_g: encoder 'hf-hub:timm/resnet18.a1_in1k' does not build offline"),
    (_set('https://example.com/x.pth', 'network_g', 'encoder'), 'does not build offline'),
    (_set('no_such_net', 'network_g', 'encoder'), "is not a timm model"),
    (_set('missing.lmdb', 'datasets', 'val', 'dataroot'),
     r"datasets.val.dataroot = 'missing.lmdb' does not exist; create it with `panda make-dataset"),
    (_set({'loss_weight': 1.0}, 'train', 'panda_opt'), r'train.panda_opt.type is missing; accepted: a loss'),
    (_set('2', 'train', 'total_iter'), r"train.total_iter = '2'; accepted: an integer"),
    (_set(1.5, 'datasets', 'train', 'batch_size_per_gpu'), r'datasets.train.batch_size_per_gpu = 1.5'),
    (_drop('logger'), 'logger is missing'),
    (_set('missing.pth', 'path', 'pretrain_network_g'), r"path.pretrain_network_g 'missing.pth' does not exist"),
])
def test_option_tree_mistakes_are_one_line_with_the_key_path(panda_options, capsys, change, fragment):
    path = panda_options(change)
    error = cli_error(['train', '-opt', path], capsys)
    assert error.startswith(f"panda train: error: option file {str(path)!r}: ")
    assert __import__('re').search(fragment, error), error
    assert sorted(p.name for p in path.parent.iterdir()) == ['opt.yml']  # no experiments/ or tb_logger/


def test_sr_test_file_needs_suffix_and_its_data(panda_options, capsys, tmp_path):
    text = (ROOT / 'options' / 'test_MSRResNet_x4_panda.yml').read_text()
    error = cli_error(['test', '-opt', panda_options(text=text)], capsys)
    assert ("datasets.test_1.dataroot_gt = 'datasets/bundled_sr/val/HR' does not exist; for the example data run "
            '`panda make-sr-data --out datasets/bundled_sr` first') in error
    (tmp_path / 'datasets/bundled_sr/val/HR').mkdir(parents=True)
    error = cli_error(['test', '-opt', panda_options(text=text.replace('    dataroot_lq: datasets/bundled_sr/val/LR_'
                                                                       'bicubic/X4\n', ''))], capsys)
    assert 'datasets.test_1.dataroot_lq is missing; accepted: the PairedImageDataset data folder' in error
    (tmp_path / 'datasets/bundled_sr/val/LR_bicubic/X4').mkdir(parents=True)
    torch.save({'params': {}}, tmp_path / 'net.pth')
    text = text.replace('experiments/MSRResNet_x4_panda/models/net_g_latest.pth', 'net.pth')
    error = cli_error(['test', '-opt', panda_options(text=text.replace('  suffix: ~ ', '  #'))], capsys)
    assert 'val.suffix is missing (save_img is true)' in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ['datasets', 'net.pth', 'opt.yml']


def test_pickle_payloads_are_refused_wherever_a_checkpoint_is_named(panda_options, capsys, tmp_path):
    marker = tmp_path / 'MARKER'
    torch.save({'params': Evil(marker)}, tmp_path / 'evil.pth')
    (tmp_path / 'raw.pth').write_bytes(pickle.dumps({'params': Evil(marker)}))
    for name in ('evil.pth', 'raw.pth'):
        for keys in (('network_g', 'encoder_checkpoint'), ('path', 'pretrain_network_g')):
            error = cli_error(['train', '-opt', panda_options(_set(name, *keys))], capsys)
            assert f"{'.'.join(keys)} {name!r}" in error and 'nothing in it ran' in error
            assert ('holds pickled code or objects (posix.system)' if name == 'evil.pth' else 'cannot read') in error
    for arguments, what in (
            (['compare', 'a.png', 'b.png', '--weights', 'evil.pth'], 'checkpoint'),
            (['export-weights', 'evil.pth', '--opt', ROOT / 'options/train_panda_tiny.yml', '--out', 'w.safetensors'],
             'checkpoint')):
        if arguments[0] == 'compare':
            import cv2
            import numpy as np

            for image in ('a.png', 'b.png'):
                cv2.imwrite(str(tmp_path / image), np.full((48, 48, 3), 90, np.uint8))
        error = cli_error(arguments, capsys)
        assert f"{what} '" in error and 'nothing in it ran' in error, error
    assert not marker.exists() and not (tmp_path / 'w.safetensors').exists()
