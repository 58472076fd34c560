"""What the plugin's single-network BasicSR models that validate to numbers (no images) share:
building and loading the network, reporting the validation metrics, no visuals, and saving
network plus training state."""
from __future__ import annotations

from basicsr.archs import build_network
from basicsr.utils import get_root_logger


class ScalarValidationMixin:
    """For a ``BaseModel`` subclass with one network ``net_g`` and metric-only validation."""

    def build_network_g(self, opt: dict) -> None:
        """Build ``network_g`` on the model's device and load ``path.pretrain_network_g`` if set.

        Args:
            opt: The run's BasicSR options.
        """
        self.net_g = self.model_to_device(build_network(opt['network_g']))
        self.print_network(self.net_g)
        load_path = opt['path'].get('pretrain_network_g')
        if load_path is not None:
            self.load_network(self.net_g, load_path, opt['path'].get('strict_load_g', True),
                              opt['path'].get('param_key_g', 'params'))

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
