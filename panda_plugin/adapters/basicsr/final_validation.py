"""The iteration of BasicSR's last validation.

BasicSR 1.4.2's training loop stops by counting one iteration past ``train.total_iter``, and
counts one more for every epoch left in its epoch loop; the validation it runs after the loop
gets that count (a 20-iteration run validated "@ 22"). The plugin's models validate there at
``total_iter``, the iteration of the network they validate.
"""
from __future__ import annotations


class FinalValidationMixin:
    """For a BasicSR ``BaseModel`` subclass: validations never carry an iteration past
    ``train.total_iter``."""

    def validation(self, dataloader, current_iter, tb_logger, save_img=False):
        """BaseModel's validation at ``min(current_iter, train.total_iter)`` in training runs.

        Args:
            dataloader: Validation data loader.
            current_iter: Iteration BasicSR passes.
            tb_logger: BasicSR's TensorBoard writer, or None.
            save_img: Save the validation images.
        """
        if self.is_train and 'total_iter' in (self.opt.get('train') or {}):
            current_iter = min(current_iter, int(self.opt['train']['total_iter']))
        super().validation(dataloader, current_iter, tb_logger, save_img)
