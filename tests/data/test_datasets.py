"""The IDX reader, the MNIST-style search order and download, digits, feature scaling."""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from microdl.data import (ChecksumError, DatasetNotFoundError, IDXError, datasets, digits,
                          fashion_mnist, min_max_scale, mnist, read_idx, standardize)

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
             np.float64: 0x0E}
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array):
    """The IDX encoding of ``array``, written independently of the reader."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data, compress=False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# ---- read_idx -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_round_trips_every_type(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    got = read_idx(write(tmp_path / "a.idx", idx_bytes(array), compress))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)
    got[0, 0, 0] = 1  # writable, not a view of an immutable buffer


def test_read_idx_labels_one_dimension(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "l", idx_bytes(labels))), labels)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_truncated_payload(tmp_path, compress):
    data = idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10]
    path = write(tmp_path / "images.idx", data, compress)
    with pytest.raises(IDXError, match=r"images\.idx: truncated: dimensions \(4, 28, 28\) of "
                                       r"uint8 need 3136 data bytes, the file has 3126"):
        read_idx(path)


def test_read_idx_trailing_bytes(tmp_path):
    path = write(tmp_path / "x", idx_bytes(np.zeros(5, np.int32)) + b"\0\0\0")
    with pytest.raises(IDXError, match=r"trailing bytes.*need 20 data bytes, the file has 23"):
        read_idx(path)


def test_read_idx_wrong_magic(tmp_path):
    path = write(tmp_path / "x", b"\x01\x02" + idx_bytes(np.zeros(3, np.uint8))[2:])
    with pytest.raises(IDXError, match=r"x: bad magic number 0x01020801"):
        read_idx(path)


def test_read_idx_bad_type_code(tmp_path):
    path = write(tmp_path / "x", bytes([0, 0, 0x0A, 1]) + struct.pack(">I", 2) + b"\0\0")
    with pytest.raises(IDXError, match="unsupported IDX type code 0x0A"):
        read_idx(path)


def test_read_idx_truncated_header_and_tiny_files(tmp_path):
    with pytest.raises(IDXError, match=r"truncated header: 3 dimensions need 16 header bytes"):
        read_idx(write(tmp_path / "h", bytes([0, 0, 8, 3]) + struct.pack(">I", 1)))
    with pytest.raises(IDXError, match="too short for an IDX header"):
        read_idx(write(tmp_path / "t", b"\0\0"))
    with pytest.raises(IDXError, match="0 dimensions"):
        read_idx(write(tmp_path / "z", bytes([0, 0, 8, 0])))


def test_read_idx_corrupt_gzip(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = write(tmp_path / "c.gz", packed[: len(packed) // 2])
    with pytest.raises(IDXError, match=r"c\.gz: corrupt or truncated gzip"):
        read_idx(path)


# ---- MNIST-style sets: the search order -----------------------------------------------------

def write_set(folder, n_train=6, n_test=4, compress=True, marker=0):
    """Four tiny IDX files; ``marker`` is stored in every pixel to tell copies apart."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = np.full((n, 28, 28), marker, np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write(folder / f"{split}-images-idx3-ubyte{suffix}", idx_bytes(images), compress)
        write(folder / f"{split}-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress)
    return folder


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No MICRODL_DATA, an empty home, no system copy, and a downloader that must not run."""
    monkeypatch.delenv("MICRODL_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(datasets, "FASHION_MNIST", datasets.FASHION_MNIST.__class__(
        **{**datasets.FASHION_MNIST.__dict__, "system_dir": str(tmp_path / "system")}))

    def no_network(url, destination):
        raise OSError(f"network disabled in tests ({url})")

    monkeypatch.setattr(datasets, "download_url", no_network)
    return tmp_path


def marker_of(loaded):
    (x_train, y_train), (x_test, y_test) = loaded
    return int(x_train[0, 0, 0])


def test_loads_uint8_images_and_int64_labels(isolated):
    (x_train, y_train), (x_test, y_test) = fashion_mnist(root=write_set(isolated / "r"))
    assert x_train.shape == (6, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (4, 28, 28)
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(y_train, np.arange(6) % 10)


def test_search_order_root_then_env_then_cache_then_system(isolated, monkeypatch):
    write_set(isolated / "system", marker=4)
    assert marker_of(fashion_mnist()) == 4
    write_set(isolated / "home" / ".cache" / "microdl" / "fashion-mnist", marker=3)
    assert marker_of(fashion_mnist()) == 3
    write_set(isolated / "env" / "fashion-mnist", marker=2, compress=False)
    monkeypatch.setenv("MICRODL_DATA", str(isolated / "env"))
    assert marker_of(fashion_mnist()) == 2
    write_set(isolated / "root", marker=1)
    assert marker_of(fashion_mnist(root=isolated / "root")) == 1


def test_root_may_hold_a_folder_named_after_the_dataset(isolated):
    write_set(isolated / "root" / "mnist", marker=7)
    assert marker_of(mnist(root=isolated / "root")) == 7


def test_an_incomplete_folder_is_skipped(isolated, monkeypatch):
    partial = write_set(isolated / "env" / "fashion-mnist", marker=2)
    (partial / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("MICRODL_DATA", str(isolated / "env"))
    write_set(isolated / "system", marker=4)
    assert marker_of(fashion_mnist()) == 4


def test_a_corrupt_local_copy_is_an_error_not_skipped(isolated):
    root = write_set(isolated / "root")
    path = root / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-2]))
    with pytest.raises(IDXError, match="train-labels-idx1-ubyte.gz: truncated"):
        fashion_mnist(root=root)


def test_labels_that_do_not_match_the_images_are_an_error(isolated):
    root = write_set(isolated / "root")
    write(root / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.zeros(3, np.uint8)), compress=True)
    with pytest.raises(IDXError, match=r"expected 4 labels"):
        fashion_mnist(root=root)


def test_offline_without_a_copy_lists_the_ways_to_get_the_data(isolated):
    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist()
    message = str(info.value)
    assert "download failed" in message and "network disabled" in message
    for way in ("root=", "MICRODL_DATA", "apt-get install dataset-fashion-mnist",
                "download=True", str(isolated / "home" / ".cache" / "microdl" / "fashion-mnist")):
        assert way in message
    assert not (isolated / "home" / ".cache").exists()
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        fashion_mnist(download=False)


# ---- MNIST-style sets: the download ---------------------------------------------------------

def fake_mirror(monkeypatch, files):
    """Publish ``files`` (name -> bytes) with their SHA-256 and return a downloader serving them."""
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    monkeypatch.setattr(datasets, "FASHION_MNIST", datasets.FASHION_MNIST.__class__(
        **{**datasets.FASHION_MNIST.__dict__, "sha256": hashes}))
    fetched = []

    def downloader(url, destination):
        name = url.rsplit("/", 1)[1]
        fetched.append(url)
        Path(destination).write_bytes(files[name])

    return downloader, fetched


def published_files(tmp_path):
    source = write_set(tmp_path / "published", marker=9)
    return {p.name: p.read_bytes() for p in source.iterdir()}


def test_download_verifies_and_moves_files_into_the_cache(isolated, monkeypatch):
    downloader, fetched = fake_mirror(monkeypatch, published_files(isolated))
    assert marker_of(fashion_mnist(downloader=downloader)) == 9
    cache = isolated / "home" / ".cache" / "microdl" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{s}.gz" for s in datasets._FILES)
    assert len(fetched) == 4 and fetched[0].startswith(datasets.FASHION_MNIST.mirrors[0])
    fetched.clear()
    assert marker_of(fashion_mnist(downloader=downloader)) == 9
    assert fetched == [], "a cached copy must not be downloaded again"


def test_download_falls_back_to_the_next_mirror(isolated, monkeypatch):
    serve, fetched = fake_mirror(monkeypatch, published_files(isolated))

    def flaky(url, destination):
        if url.startswith(datasets.FASHION_MNIST.mirrors[0]):
            raise OSError("mirror down")
        serve(url, destination)

    assert marker_of(fashion_mnist(downloader=flaky)) == 9
    assert all(url.startswith(datasets.FASHION_MNIST.mirrors[1]) for url in fetched)


def test_checksum_mismatch_raises_and_leaves_nothing_behind(isolated, monkeypatch):
    files = published_files(isolated)
    downloader, _ = fake_mirror(monkeypatch, files)
    tampered = dict(files, **{"train-images-idx3-ubyte.gz": b"not the published file"})

    def serve_tampered(url, destination):
        Path(destination).write_bytes(tampered[url.rsplit("/", 1)[1]])

    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte\.gz: SHA-256 mismatch: "
                                            r"expected [0-9a-f]{64}, got [0-9a-f]{64}"):
        fashion_mnist(downloader=serve_tampered)
    assert not (isolated / "home" / ".cache").exists()


def test_a_checksum_mismatch_after_good_files_keeps_only_verified_files(isolated, monkeypatch):
    files = published_files(isolated)
    downloader, _ = fake_mirror(monkeypatch, files)

    def serve_bad_last(url, destination):
        name = url.rsplit("/", 1)[1]
        data = files[name] if not name.startswith("t10k-labels") else b"corrupt"
        Path(destination).write_bytes(data)

    with pytest.raises(ChecksumError):
        fashion_mnist(downloader=serve_bad_last)
    cache = isolated / "home" / ".cache" / "microdl" / "fashion-mnist"
    left = sorted(p.name for p in cache.iterdir())
    assert left == ["t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz",
                    "train-labels-idx1-ubyte.gz"]
    for name in left:
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == \
            hashlib.sha256(files[name]).hexdigest()


def test_published_checksums_are_well_formed():
    for source in (datasets.FASHION_MNIST, datasets.MNIST):
        assert sorted(source.sha256) == sorted(f"{s}.gz" for s in datasets._FILES)
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in source.sha256.values())


@pytest.mark.skipif(not (SYSTEM_DIR / "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed "
                           "(apt-get install dataset-fashion-mnist)")
def test_the_real_fashion_mnist_from_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.delenv("MICRODL_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = fashion_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    assert x_train.max() == 255 and x_train.min() == 0


# ---- digits ---------------------------------------------------------------------------------

def test_digits_split_is_stratified_scaled_and_seeded():
    pytest.importorskip("sklearn")
    (x_train, y_train), (x_test, y_test) = digits(test_size=0.25, seed=3)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.shape[1] == 64 and len(x_train) + len(x_test) == 1797
    assert len(x_test) == 450
    assert 0.0 <= x_train.min() and x_train.max() == 1.0
    fractions = np.bincount(y_test, minlength=10) / np.bincount(np.r_[y_train, y_test])
    assert np.all(np.abs(fractions - 0.25) < 0.02)
    (again, _), _ = digits(test_size=0.25, seed=3)
    (other, _), _ = digits(test_size=0.25, seed=4)
    np.testing.assert_array_equal(x_train, again)
    assert not np.array_equal(x_train, other)
    (raw, _), _ = digits(test_size=0.25, seed=3, scale=False)
    np.testing.assert_array_equal(raw / 16, x_train)


def test_digits_rejects_a_bad_test_size():
    with pytest.raises(ValueError, match="test_size"):
        digits(test_size=1.5)


# ---- feature scaling ------------------------------------------------------------------------

def test_min_max_scale_fits_on_train_and_applies_to_test():
    train = np.array([[0.0, 10.0, 5.0], [2.0, 30.0, 5.0], [4.0, 20.0, 5.0]], np.float32)
    test = np.array([[1.0, 40.0, 7.0]], np.float32)
    train_s, test_s = min_max_scale(train, test)
    np.testing.assert_allclose(train_s, [[0, 0, 0], [0.5, 1, 0], [1, 0.5, 0]])
    # the constant third feature divides by 1: x - min
    np.testing.assert_allclose(test_s, [[0.25, 1.5, 2.0]])
    assert train_s.dtype == np.float32


def test_standardize_fits_on_train_and_applies_to_test():
    rng = np.random.default_rng(0)
    train = rng.normal([100.0, -3.0], [20.0, 0.5], size=(500, 2))
    test = rng.normal([100.0, -3.0], [20.0, 0.5], size=(50, 2))
    train_s, test_s = standardize(train, test)
    np.testing.assert_allclose(train_s.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(train_s.std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(test_s, (test - train.mean(0)) / train.std(0), rtol=1e-12)
    assert train_s.dtype == np.float64


def test_standardize_constant_feature_divides_by_one():
    train = np.array([[0.1, 1.0], [0.1, 3.0], [0.1, 5.0]])  # 0.1 has no exact float mean
    train_s, test_s = standardize(train, np.array([[0.6, 3.0]]))
    np.testing.assert_allclose(train_s[:, 0], 0, atol=1e-15)
    np.testing.assert_allclose(test_s[0, 0], 0.5, rtol=1e-12)
    assert np.all(np.isfinite(train_s))


def test_scaling_integer_input_gives_float32_and_no_test_gives_none():
    train = np.array([[0, 255], [255, 0]], np.uint8)
    scaled, none = min_max_scale(train)
    assert none is None and scaled.dtype == np.float32
    np.testing.assert_array_equal(scaled, [[0, 1], [1, 0]])
    assert standardize(train)[0].dtype == np.float32


def test_scaling_rejects_mismatched_features_and_empty_train():
    with pytest.raises(ValueError, match="features must match"):
        standardize(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="at least one sample"):
        min_max_scale(np.zeros((0, 2)))
