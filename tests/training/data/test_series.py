import numpy as np

from training.data.series import RESOLUTION, T_MAX, random_windows, series


def test_series_formula():
    t = np.array([0.0, 1.0, 30.0])
    np.testing.assert_allclose(series(t), t * np.sin(t) / 3 + 2 * np.sin(5 * t), rtol=1e-6)


def test_windows_are_consecutive_samples_inside_the_range():
    starts, windows = random_windows(np.random.default_rng(0), 200, 40)
    assert windows.shape == (200, 40)
    assert starts.min() >= 0 and starts.max() + 39 * RESOLUTION <= T_MAX + 1e-5
    expected = series(starts[:, None] + RESOLUTION * np.arange(40)[None, :])
    np.testing.assert_allclose(windows, expected, rtol=1e-4, atol=1e-4)
