"""A self-contained local HTML page for placing clicks on an image and saving ``clicks.json``.

``panda click-page IMAGE --out page.html`` writes one file holding the image (as a data URL)
and a small script: a left click adds a thing, a shift-click (or the ``stuff`` toggle) adds
stuff, a right click removes the nearest click, and *Save* downloads ``clicks.json`` in the
form ``--points`` reads (``{"<image name>": [{"x", "y", "kind"}, ...]}``).
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from panda_plugin.core.atomic import write_atomic

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Clicks: __TITLE__</title>
<style>
body{font-family:sans-serif;margin:12px;background:#f4f4f4}
#wrap{position:relative;display:inline-block;cursor:crosshair}
#canvas{max-width:95vw;max-height:80vh;border:1px solid #888}
button,label{margin-right:10px}
#list{font-family:monospace;white-space:pre}
</style></head><body>
<div><b>__TITLE__</b> (__WIDTH__ x __HEIGHT__): click one point per object; shift-click for stuff
(sky, wall, ground); right-click removes the nearest click.</div>
<div style="margin:6px 0">
<label><input type="checkbox" id="stuff"> next clicks are stuff</label>
<button id="undo">Undo</button><button id="clear">Clear</button>
<button id="save">Save clicks.json</button></div>
<div id="wrap"><canvas id="canvas" width="__WIDTH__" height="__HEIGHT__"></canvas></div>
<div id="list"></div>
<script>
const NAME = __NAME__;
const image = new Image();
const canvas = document.getElementById('canvas');
const context = canvas.getContext('2d');
const clicks = [];
function draw() {
  context.drawImage(image, 0, 0);
  const radius = Math.max(4, Math.round(Math.max(canvas.width, canvas.height) / 120));
  clicks.forEach((c, i) => {
    context.beginPath(); context.arc(c.x + 0.5, c.y + 0.5, radius, 0, 2 * Math.PI);
    context.fillStyle = c.kind === 'stuff' ? '#33aaff' : '#ff3355'; context.fill();
    context.lineWidth = 2; context.strokeStyle = '#000'; context.stroke();
    context.font = (2 * radius + 4) + 'px sans-serif'; context.fillStyle = '#fff';
    context.strokeText(String(i + 1), c.x + radius + 2, c.y - radius);
    context.fillText(String(i + 1), c.x + radius + 2, c.y - radius);
  });
  document.getElementById('list').textContent = clicks.map(
    (c, i) => (i + 1) + ': ' + c.x + ',' + c.y + ' ' + c.kind).join('\\n');
}
function position(event) {
  const box = canvas.getBoundingClientRect();
  const x = Math.floor((event.clientX - box.left) * canvas.width / box.width);
  const y = Math.floor((event.clientY - box.top) * canvas.height / box.height);
  return {x: Math.min(Math.max(x, 0), canvas.width - 1), y: Math.min(Math.max(y, 0), canvas.height - 1)};
}
canvas.addEventListener('click', event => {
  const p = position(event);
  if (clicks.some(c => c.x === p.x && c.y === p.y)) return;
  const stuff = event.shiftKey || document.getElementById('stuff').checked;
  clicks.push({x: p.x, y: p.y, kind: stuff ? 'stuff' : 'thing'}); draw();
});
canvas.addEventListener('contextmenu', event => {
  event.preventDefault();
  if (!clicks.length) return;
  const p = position(event);
  let best = 0;
  clicks.forEach((c, i) => { if ((c.x - p.x) ** 2 + (c.y - p.y) ** 2 <
      (clicks[best].x - p.x) ** 2 + (clicks[best].y - p.y) ** 2) best = i; });
  clicks.splice(best, 1); draw();
});
document.getElementById('undo').onclick = () => { clicks.pop(); draw(); };
document.getElementById('clear').onclick = () => { clicks.length = 0; draw(); };
function clicksJson() { const out = {}; out[NAME] = clicks; return JSON.stringify(out, null, 1); }
document.getElementById('save').onclick = () => {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([clicksJson()], {type: 'application/json'}));
  link.download = 'clicks.json'; link.click();
};
image.onload = draw;
image.src = '__SOURCE__';
</script></body></html>
"""


def click_page(image_path, out) -> Path:
    """Write the click page of one image.

    Args:
        image_path: Image file (png, jpg, ...); it is embedded in the page.
        out: Destination ``.html`` file.

    Returns:
        The written path.
    """
    from panda_plugin.engine.data.lmdb_store import encode_png
    from panda_plugin.engine.image_io import load_image

    image = load_image(image_path, convert=True)
    source = 'data:image/png;base64,' + base64.b64encode(encode_png(image)).decode('ascii')
    name = Path(image_path).name
    page = (_PAGE.replace('__TITLE__', html.escape(name)).replace('__NAME__', json.dumps(name))
            .replace('__WIDTH__', str(image.shape[1])).replace('__HEIGHT__', str(image.shape[0]))
            .replace('__SOURCE__', source))
    return write_atomic(out, page, 'click page')
