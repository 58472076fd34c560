"""The text ``panda compare`` prints for a graph: its mode, one row per region and the
whole-image summary."""
from __future__ import annotations

#: First line of ``graph_table`` per mode.
MODE_LINES = {
    'reference': 'reference mode: each region of the restored image (the first) is scored by its fidelity to the '
                 'reference (the second), 1 = identical; --pairwise for the paper\'s pairwise mode',
    'pairwise': 'pairwise mode (the paper\'s): two images of unknown quality, every label predicted by the network, '
                'relations of the anchor (the first) to the target (the second)',
}


def side_names(graph) -> tuple[str, str]:
    """What to call the two images of a graph: restored/reference in reference mode, else anchor/target."""
    return ('restored', 'reference') if graph.metadata.get('mode') == 'reference' else ('anchor', 'target')


def graph_table(graph) -> str:
    """Mode, per-region table and whole-image summary of a graph.

    Args:
        graph: A ``DistortionGraph``.

    Returns:
        The text.
    """
    height, width = graph.image_size
    first, second = side_names(graph)
    lines = [MODE_LINES[graph.metadata['mode']]] if graph.metadata.get('mode') in MODE_LINES else []
    cell = 34 if graph.anchor_texture is not None else 28
    lines.append(f"{'region':>6} {'bbox x,y,w,h':>19} {'area':>6}  {first:<{cell}}{second:<{cell}}relation")
    for r in graph.regions:
        cells = [(f'{label.distortion}/{label.severity} {label.score:.2f}' if label.distortion != 'clean'
                  else f'clean {label.score:.2f}') + ('' if label.texture is None else f' t{label.texture:.2f}')
                 for label in (r.anchor, r.target)]
        box = ','.join(str(v) for v in r.bbox)
        lines.append(f'{r.id:>6} {box:>19} {100 * r.area / (width * height):>5.1f}%  '
                     f'{cells[0]:<{cell}}{cells[1]:<{cell}}{r.relation}')
    areas = {side: ', '.join(f'{name} {100 * share:.0f}%' for name, share in
                             sorted(graph.distortion_areas(side).items(), key=lambda item: -item[1]))
             for side in ('anchor', 'target')}
    scores = f'whole image: {first} {graph.anchor_score:.3f}, {second} {graph.target_score:.3f}; '
    lines += ['', scores + (f'the {first} image is {graph.relation.replace("_", " ")} than the {second}'
                            if graph.relation != 'same' else 'same quality'),
              *([f'whole-image texture (t): {first} {graph.anchor_texture:.3f}, {second} {graph.target_texture:.3f}']
                if graph.anchor_texture is not None else []),
              f'{first} area by distortion: {areas["anchor"]}']
    if first == 'anchor':
        lines.append(f'target area by distortion: {areas["target"]}')
    return '\n'.join(lines)
