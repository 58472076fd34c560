"""What the plugin's BasicSR models that validate to numbers (no images) share: reporting the
validation metrics, no visuals, and saving network plus training state."""
from __future__ import annotations

from basicsr.utils import get_root_logger


class ScalarValidationMixin:
    """For a ``BaseModel`` subclass with one network ``net_g`` and metric-only validation."""

    def report_metrics(self, dataset_name: str, results: dict, current_iter: int, tb_logger,
                       decimals: int = 4) -> None:
        """Keep, log and write to TensorBoard the wanted validation metrics.

        Args:
            dataset_name: Validation dataset name.
            results: Metric name -> value, for the metrics of ``val.metrics``.
            current_iter: Training iteration.
            tb_logger: BasicSR's TensorBoard writer, or None.
            decimals: Decimals in the log line. Default: 4.
        """
        self.metric_results = dict(results)
        self._initialize_best_metric_results(dataset_name)
        for metric, value in self.metric_results.items():
            self._update_best_metric_result(dataset_name, metric, value, current_iter)
        message = ' '.join(f'{m}: {v:.{decimals}f}' for m, v in self.metric_results.items())
        get_root_logger().info(f'Validation {dataset_name} @ {current_iter}: {message}')
        if tb_logger:
            for metric, value in self.metric_results.items():
                tb_logger.add_scalar(f'metrics/{dataset_name}/{metric}', value, current_iter)

    def get_current_visuals(self) -> dict:
        """No images to show for this model."""
        return {}

    def save(self, epoch: int, current_iter: int) -> None:
        """Save the network and the training state."""
        self.save_network(self.net_g, 'net_g', current_iter)
        self.save_training_state(epoch, current_iter)
