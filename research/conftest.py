"""The tests of the experiments use the fixtures of the package's tests."""
from tests.conftest import (  # noqa: F401 (fixtures)
    astronaut,
    image_folder,
    one_torch_thread,
    pseudo_scenes,
    small_astronaut,
    tiny_bench,
    train_on_pseudo_scenes,
)
