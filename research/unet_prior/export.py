"""Export a training checkpoint of ``ScoreUNet`` as safetensors (the experiment's weights).

Run: ``python -m research.unet_prior.export experiments/score_unet/models/net_g_latest.pth``
(reads the arch options from ``--opt``, takes the moving average ``params_ema`` when saved, and
writes ``research/unet_prior/dp-score-unet.safetensors`` unless ``--out`` says otherwise).
"""
from __future__ import annotations

import argparse

import yaml

from research.unet_prior.score_unet import SHIPPED, load_score_unet, save_score_unet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('checkpoint', help='net_g_<iter>.pth written by panda train')
    parser.add_argument('--opt', default='research/unet_prior/train_score_unet.yml', help='the training option file')
    parser.add_argument('--out', default=str(SHIPPED))
    args = parser.parse_args()
    with open(args.opt, encoding='utf-8') as handle:
        config = dict(yaml.safe_load(handle)['network_g'])
    config.pop('type')
    net = load_score_unet(args.checkpoint, config)
    path = save_score_unet(net, args.out)
    count = sum(p.numel() for p in net.parameters())
    print(f'wrote {path} ({count} parameters, {path.stat().st_size / 2**20:.2f} MiB)')


if __name__ == '__main__':
    main()
