"""Critic-surface pictures: heatmap colors and colored scatter plots on top."""

import numpy as np
import pytest

from keras_gan.images import heatmap, scatter_image


def test_heatmap_orders_values_from_dark_to_bright():
    values = np.array([[0.0, 0.5, 1.0], [np.nan, 2.0, -1.0]])
    image = heatmap(values, value_range=(0.0, 1.0))
    assert image.shape == (2, 3, 3) and image.dtype == np.uint8
    brightness = image.astype(int).sum(-1)
    assert brightness[0, 0] < brightness[0, 1] < brightness[0, 2]
    np.testing.assert_array_equal(image[1, 1], image[0, 2])  # clipped to the top
    np.testing.assert_array_equal(image[1, 2], image[0, 0])  # ... and the bottom
    np.testing.assert_array_equal(image[1, 0], image[0, 0])  # NaN drawn as low
    with pytest.raises(ValueError, match="2-D array"):
        heatmap(np.zeros(3))


def test_scatter_draws_colored_points_on_a_background():
    background = heatmap(np.zeros((64, 64)))
    image = scatter_image(
        np.array([[0.9, 0.9]]), size=64, extent=(-1, 1), background=background, color=(255, 0, 0)
    )
    red = np.argwhere((image == [255, 0, 0]).all(-1))
    assert len(red) > 0
    # (0.9, 0.9) is near the top-right corner: small row, large column.
    assert red[:, 0].max() < 10 and red[:, 1].min() > 54
    assert (image[40, 10] == background[40, 10]).all()
