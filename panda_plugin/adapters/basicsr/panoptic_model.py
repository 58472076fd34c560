"""BasicSR model ``PanopticSegmenterModel``: trains ``PanopticSegmenterNet`` on click pseudo-labels."""
from __future__ import annotations

from collections import OrderedDict

from panda_plugin.adapters.basicsr.points_model import ClickModel
from panda_plugin.core.errors import PandaInputError
from panda_plugin.engine.image_io import tensor_to_rgb8
from panda_plugin.engine.points.panoptic import PanopticSegmenter


class PanopticSegmenterModel(ClickModel):
    """Trains the second-stage segmenter from ``PointsDataset`` batches with ``pseudo_labels``.

    Options: ``network_g`` (type PanopticSegmenterNet), ``train.loss_opt`` (type
    PanopticEmbeddingLoss), ``train.optim_g``, ``train.scheduler``, ``val.metrics`` (``pq``,
    ``sq``, ``rq`` of ``PanopticSegmenter`` regions, without clicks, against the dense ground
    truth, which training never sees).
    """

    def __init__(self, opt: dict):
        if opt.get('is_train') and not (opt['train'].get('loss_opt') or {}).get('type'):
            opt['train']['loss_opt'] = {'type': 'PanopticEmbeddingLoss'}
        super().__init__(opt)

    def feed_data(self, data: dict) -> None:
        """Keep the images (and, when present, the pseudo-labels) of one batch."""
        self.batch = {'image': data['image'].to(self.device)}
        if 'pseudo' in data:
            self.batch['pseudo'] = data['pseudo'].to(self.device)
        self.images = data['image']
        if 'panoptic' in data:
            self.panoptic = data['panoptic']

    def optimize_parameters(self, current_iter: int) -> None:
        """One optimisation step on the pseudo-labels (the dense ground truth is not read)."""
        if 'pseudo' not in self.batch:
            raise PandaInputError('PanopticSegmenterModel trains on pseudo-labels: set datasets.train.pseudo_labels '
                                  'to a file of `panda make-pseudo-labels`')
        self.optimizer_g.zero_grad()
        embeddings, boundary = self.net_g(self.batch['image'])
        loss, terms = self.criterion(embeddings, boundary, self.batch['pseudo'])
        loss.backward()
        self.optimizer_g.step()
        self.log_dict = self.reduce_loss_dict(OrderedDict(l_total=loss.detach(), **terms))

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """Panoptic quality of the regions, without clicks, logged as ``metrics/<name>/<metric>``."""
        segmenter = PanopticSegmenter(self.get_bare_model(self.net_g))

        def regions(data):
            return ((segmenter(image), truth) for image, truth in zip(tensor_to_rgb8(data['image']),
                                                                       data['panoptic'].numpy()))

        self.validate_regions(dataloader, current_iter, tb_logger, regions)
