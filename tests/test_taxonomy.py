import numpy as np
import pytest

from panda_plugin import PandaInputError
from panda_plugin.core.taxonomy import (
    DISTORTIONS,
    RELATIONS,
    SEVERITIES,
    distortion_id,
    invert_relation,
    relation_from_scores,
    relation_ids_from_scores,
)


def test_official_ids():
    assert len(DISTORTIONS) == 15 and DISTORTIONS[0] == 'clean' and DISTORTIONS[7] == 'blur'
    assert DISTORTIONS[14] == 'pixelate' and DISTORTIONS[3] == 'compression'
    assert SEVERITIES == ('clean', 'minor', 'moderate', 'severe')
    assert RELATIONS.index('same') == 0 and RELATIONS.index('significantly_better') == 4
    assert RELATIONS.index('slightly_worse') == 1 and RELATIONS.index('slightly_better') == 3


@pytest.mark.parametrize('anchor, target, expected', [
    (0.5, 0.5, 'same'), (0.0999, 0.0, 'same'), (0.1, 0.0, 'slightly_better'),
    (0.2999, 0.0, 'slightly_better'), (0.3, 0.0, 'significantly_better'),
    (0.0, 0.1, 'slightly_worse'), (0.0, 0.3, 'significantly_worse'), (0.375, 0.5, 'slightly_worse'),
])
def test_thresholds(anchor, target, expected):
    assert relation_from_scores(anchor, target) == expected


def test_swapping_inverts_every_relation():
    rng = np.random.default_rng(0)
    a, t = rng.random(500), rng.random(500)
    forward = relation_ids_from_scores(a, t)
    backward = relation_ids_from_scores(t, a)
    assert [invert_relation(RELATIONS[f]) for f in forward] == [RELATIONS[b] for b in backward]


def test_unknown_labels_name_the_value():
    with pytest.raises(PandaInputError, match="'fog'.*snow"):
        distortion_id('fog')
    with pytest.raises(PandaInputError, match='15'):
        distortion_id(15)
