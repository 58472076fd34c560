"""The click page: its script, run under Node with a stub DOM, records clicks that --points reads."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from panda_plugin.engine.image_io import save_image
from panda_plugin.engine.points import read_clicks

_STUB = r"""
const handlers = {};
function element(id) {
  return {id, checked: false, textContent: '', width: __W__, height: __H__,
    addEventListener(type, fn) { handlers[id + ':' + type] = fn; },
    getContext() { return new Proxy({}, {get: () => () => {}, set: () => true}); },
    getBoundingClientRect() { return {left: 10, top: 20, width: __W__ * 2, height: __H__ * 2}; },
    set onclick(fn) { handlers[id + ':click'] = fn; }};
}
const elements = {};
const document = {getElementById: id => (elements[id] = elements[id] || element(id)),
                  createElement: () => ({click() {}})};
class Image { set src(value) { this.source = value; if (this.onload) this.onload(); } }
const URL = {createObjectURL: () => 'blob:'}; class Blob {}
const clicksJson = new Function('document', 'Image', 'URL', 'Blob', SCRIPT + '; return clicksJson;')(
  document, Image, URL, Blob);
const click = (x, y, shiftKey) => handlers['canvas:click']({clientX: 10 + 2 * x, clientY: 20 + 2 * y, shiftKey});
click(5, 6, false); click(5, 6, false); click(30, 12, true); click(47, 40, false);
handlers['canvas:contextmenu']({preventDefault() {}, clientX: 10 + 2 * 46, clientY: 20 + 2 * 41});
click(20, 33, false);
console.log(clicksJson());
"""


@pytest.mark.skipif(shutil.which('node') is None, reason='needs Node.js')
def test_page_records_clicks_in_the_points_format(tmp_path):
    from panda_plugin.adapters.cli import main

    image = tmp_path / 'scene.png'
    save_image(image, np.full((40, 48, 3), 120, np.uint8))
    page = tmp_path / 'page.html'
    assert main(['click-page', str(image), '--out', str(page)]) == 0
    text = page.read_text()
    assert 'data:image/png;base64,' in text and '"scene.png"' in text
    script = re.search(r'<script>(.*)</script>', text, re.S)[1]
    runner = tmp_path / 'run.js'
    runner.write_text(f'const SCRIPT = {json.dumps(script)};\n' +
                      _STUB.replace('__W__', '48').replace('__H__', '40'))
    result = subprocess.run(['node', str(runner)], capture_output=True, text=True, timeout=60, check=True)
    saved = tmp_path / 'clicks.json'
    saved.write_text(result.stdout)
    clicks = read_clicks(saved, (40, 48), name='scene.png')
    assert clicks.xy.tolist() == [[5, 6], [30, 12], [20, 33]]
    assert clicks.kinds == ('thing', 'stuff', 'thing')
