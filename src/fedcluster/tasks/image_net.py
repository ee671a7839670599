"""The small convolutional network of the `images` task, and its device.

Two convolution + max-pool stages followed by three dense layers: the shape
of the classic small network for 32x32 colour images, sized here from the
task's image size, channel count and number of classes. It is small enough
to train on a laptop CPU in seconds, which is what a first federation needs;
a hospital that needs more should write its own task.

This module imports torch, so only code that trains or evaluates imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

log = logging.getLogger(__name__)

KERNEL = 5
POOL = 2
SMALLEST_IMAGE = 16  # two 5x5 convolutions and two 2x2 pools leave one pixel

_announced: set[str] = set()


def feature_side(image_size: int) -> int:
    """Side of the feature maps after both convolution + pool stages."""
    after_first = (image_size - KERNEL + 1) // POOL
    return (after_first - KERNEL + 1) // POOL


class SmallConvNet(nn.Module):
    """conv(5x5) - pool - conv(5x5) - pool - dense - dense - dense."""

    def __init__(
        self,
        *,
        channels: int,
        image_size: int,
        classes: int,
        filters: tuple[int, int] = (6, 16),
        hidden: tuple[int, int] = (120, 84),
    ) -> None:
        super().__init__()
        side = feature_side(image_size)
        if side < 1:
            raise ValueError(
                f"image_size {image_size} is too small; use at least {SMALLEST_IMAGE}"
            )
        self.conv1 = nn.Conv2d(channels, filters[0], KERNEL)
        self.conv2 = nn.Conv2d(filters[0], filters[1], KERNEL)
        self.pool = nn.MaxPool2d(POOL)
        self.fc1 = nn.Linear(filters[1] * side * side, hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.fc3 = nn.Linear(hidden[1], classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of (n, channels, size, size) images."""
        features = self.pool(torch.relu(self.conv1(images)))
        features = self.pool(torch.relu(self.conv2(features)))
        flat = torch.flatten(features, start_dim=1)
        logits: torch.Tensor = self.fc3(
            torch.relu(self.fc2(torch.relu(self.fc1(flat))))
        )
        return logits


def pick_device(preference: str, hospital: str) -> torch.device:
    """The device to train on: a GPU when one is present, unless told "cpu".

    The choice is logged at INFO once per hospital and process, so a hospital's
    log says where its training ran.
    """
    if preference == "cuda" and not torch.cuda.is_available():
        log.warning(
            "%s: task.device is 'cuda' but no GPU is visible; using CPU", hospital
        )
    use_gpu = preference != "cpu" and torch.cuda.is_available()
    device = torch.device("cuda" if use_gpu else "cpu")
    if hospital not in _announced:
        _announced.add(hospital)
        name = torch.cuda.get_device_name(device) if use_gpu else "CPU"
        log.info("images task at %s runs on %s (%s)", hospital, device.type, name)
    return device


@contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """Run the block with `count` torch CPU threads, then restore the setting.

    A network this small on batches of tens of images gains nothing from
    several threads, and on a machine shared with other work, threads that
    wait for each other make each step several times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
