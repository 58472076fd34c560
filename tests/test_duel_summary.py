"""The folder-level summary of duels, on hand-made graphs whose numbers can be checked by hand."""
import numpy as np
import pytest

from panda_plugin.core.errors import PandaInputError
from panda_plugin.core.graph import DistortionGraph
from panda_plugin.engine.panda.duel import Duel, folder_summary


def graph(label_map, scores, distortions):
    severities = ['clean' if name == 'clean' else 'moderate' for name in distortions]
    count = len(scores)
    return DistortionGraph.from_labels(
        label_map, {'distortion': distortions, 'severity': severities, 'score': scores},
        {'distortion': ['clean'] * count, 'severity': ['clean'] * count, 'score': [1.0] * count},
        metadata={'mode': 'reference'})


def halves():
    label_map = np.zeros((40, 40), np.int32)
    label_map[:, 20:] = 1
    return label_map


def quadrants():
    label_map = halves()
    label_map[20:] += 2
    return label_map


@pytest.fixture()
def duels():
    one = Duel(graph(halves(), [0.9, 0.5], ['blur', 'noise']), graph(halves(), [0.5, 0.45], ['noise', 'noise']),
               names=('sharp', 'smooth'))
    two = Duel(graph(quadrants(), [0.6] * 4, ['blur'] * 4),
               graph(quadrants(), [0.9, 0.9, 0.62, 0.6], ['clean', 'clean', 'noise', 'noise']),
               names=('sharp', 'smooth'))
    three = Duel(graph(halves(), [0.8, 0.8], ['blur', 'blur']), graph(halves(), [0.75, 0.8], ['noise', 'clean']),
                 names=('sharp', 'smooth'))
    return [one, two, three]


def test_folder_summary_numbers(duels):
    # image scores: A 0.7, 0.6, 0.8; B 0.475, 0.755, 0.775
    summary = folder_summary(duels)
    assert summary['images'] == 3 and summary['names'] == ['sharp', 'smooth']
    assert summary['mean_score']['a'] == pytest.approx(0.7)
    assert summary['mean_score']['b'] == pytest.approx((0.475 + 0.755 + 0.775) / 3)
    # whole-image differences +0.225 (A slightly better), -0.155 (B), +0.025 (a tie)
    assert summary['images_won'] == {'a': 1, 'b': 1, 'tie': 1}
    assert summary['higher_score'] == {'a': 2, 'b': 1, 'equal': 0}
    # regions: +0.4 A, +0.05 tie | -0.3 B, -0.3 B, -0.02 tie, 0 tie | +0.05 tie, 0 tie
    assert summary['regions_won'] == {'a': 1, 'b': 2, 'tie': 5, 'total': 8}
    # A leaves blur on 1/2, 1 and 1 of the images, noise on 1/2, 0 and 0
    assert list(summary['distortions_a']) == ['blur', 'noise']
    assert summary['distortions_a']['blur'] == pytest.approx(2.5 / 3)
    assert summary['distortions_a']['noise'] == pytest.approx(0.5 / 3)
    assert summary['distortions_b'] == pytest.approx({'noise': 2 / 3})


def test_folder_summary_of_nothing_is_an_error():
    with pytest.raises(PandaInputError, match='no duels'):
        folder_summary([])
