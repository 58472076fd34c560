"""The shipped weights' outputs on two bundled pairs are pinned (tests/golden.py updates them)."""
import json

import pytest
from golden import GOLDEN, golden_outputs


def test_shipped_weights_give_the_pinned_graphs():
    expected = json.loads(GOLDEN.read_text(encoding='utf-8'))
    outputs = golden_outputs()
    assert outputs.keys() == expected.keys()
    for name, regions in expected.items():
        for got, want in zip(outputs[name], regions, strict=True):
            assert got['relation'] == want['relation'], name
            for side in ('anchor', 'target'):
                assert got[side][:2] == want[side][:2], (name, side)
                assert got[side][2] == pytest.approx(want[side][2], abs=2e-4), (name, side)
