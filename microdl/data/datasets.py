"""Datasets: scikit-learn's 8x8 digits, MNIST and Fashion-MNIST (IDX files), feature scaling.

MNIST-style sets are four IDX files. ``fashion_mnist()`` and ``mnist()`` look for them, raw or
gzipped, in this order:

1. ``root`` (the folder itself, then ``root/<name>``),
2. ``$MICRODL_DATA/<name>``,
3. ``~/.cache/microdl/<name>``,
4. the system copy (Fashion-MNIST: ``/usr/share/datasets/fashion-mnist``, from Debian's
   ``dataset-fashion-mnist`` package),

and otherwise download the official files into the cache, checking each one's SHA-256 before an
atomic rename puts it in place.
"""

import gzip
import hashlib
import math
import os
import shutil
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class IDXError(ValueError):
    """An IDX file that is truncated, corrupt or not IDX at all."""


class DatasetNotFoundError(FileNotFoundError):
    """No local copy of a dataset and no way to download it."""


class ChecksumError(ValueError):
    """A downloaded file whose SHA-256 is not the published one."""


class _Unreachable(Exception):
    """Every mirror of a file failed to answer (offline, blocked, gone)."""


# ---- scikit-learn's digits ------------------------------------------------------------------

def digits(test_size=0.2, seed=0, scale=True):
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes), split stratified by class.

    Returns ((x_train, y_train), (x_test, y_test)): float32 features of shape (n, 64) and int64
    labels. With ``scale`` the pixel counts 0..16 become x / 16, in [0, 1].
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1) (got {test_size!r})")
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        raise ImportError("microdl.data.digits() needs scikit-learn, which bundles the digits "
                          "set: pip install scikit-learn (or microdl[test])") from error
    bunch = load_digits()
    x = bunch.data.astype(np.float32)
    if scale:
        x /= np.float32(16.0)
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y)
    return (x_train, y_train), (x_test, y_test)


# ---- IDX ------------------------------------------------------------------------------------

# type code -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path):
    """Read an IDX file (raw, or gzip: detected by its magic bytes) into a numpy array.

    Layout: bytes 0-1 are zero, byte 2 the type code (0x08 ubyte, 0x09 byte, 0x0B short,
    0x0C int, 0x0D float, 0x0E double), byte 3 the number of dimensions d; then d big-endian
    uint32 sizes; then prod(sizes) values, big-endian, row-major. The result is native-endian
    and writable. Anything else raises IDXError naming the file and the fault.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise IDXError(f"{path}: corrupt or truncated gzip data ({error})") from None
    if len(raw) < 4:
        raise IDXError(f"{path}: {len(raw)} bytes is too short for an IDX header (4 bytes of "
                       "magic number, then the dimensions)")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"{path}: bad magic number 0x{raw[:4].hex()}: an IDX file starts with two "
                       "zero bytes, a type code and the number of dimensions")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise IDXError(f"{path}: unsupported IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise IDXError(f"{path}: the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{path}: truncated header: {ndim} dimensions need {header} header bytes, "
                       f"the file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(IDX_TYPES[code])
    count = math.prod(shape)  # exact: np.prod in int64 would wrap for 4 sizes near 2**32
    expected, actual = count * dtype.itemsize, len(raw) - header
    if actual != expected:
        fault = "truncated" if actual < expected else "trailing bytes"
        raise IDXError(f"{path}: {fault}: dimensions {shape} of {dtype.name} need {expected} "
                       f"data bytes, the file has {actual}")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


# ---- MNIST and Fashion-MNIST ------------------------------------------------------------------

_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class _Source:
    name: str            # folder name under $MICRODL_DATA and the cache
    title: str
    mirrors: tuple       # base URLs, tried in order
    sha256: dict         # "<file>.gz" -> SHA-256 of the published gzip file
    system_dir: str = None
    system_package: str = None


# SHA-256 of the published .gz files, as recorded by TensorFlow Datasets' url_checksums (the same
# files whose MD5s the Fashion-MNIST README lists). Debian's package recompresses the files, so
# its .gz bytes differ; local copies are checked by read_idx's structure checks instead.
FASHION_MNIST = _Source(
    name="fashion-mnist",
    title="Fashion-MNIST",
    mirrors=("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
             "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
    sha256={
        "train-images-idx3-ubyte.gz":
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz":
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz":
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz":
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    system_dir="/usr/share/datasets/fashion-mnist",
    system_package="dataset-fashion-mnist",
)

MNIST = _Source(
    name="mnist",
    title="MNIST",
    mirrors=("https://storage.googleapis.com/cvdf-datasets/mnist/",
             "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    sha256={
        "train-images-idx3-ubyte.gz":
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz":
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz":
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz":
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
)


def download_url(url, destination, timeout=60):
    """Fetch ``url`` into the file ``destination`` (the default downloader)."""
    # NOTE: imported here: urllib.request (http, ssl, email) is ~15 ms of `import microdl`.
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as response, \
            open(destination, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)


def fashion_mnist(root=None, download=True, downloader=None):
    """Fashion-MNIST: ((x_train, y_train), (x_test, y_test)).

    x: uint8 images of shape (60000, 28, 28) and (10000, 28, 28); y: int64 classes 0..9.
    See the module docstring for where the files are looked for. ``downloader(url, path)``
    replaces the network fetch (default: ``download_url``).
    """
    return _load(FASHION_MNIST, root, download, downloader)


def mnist(root=None, download=True, downloader=None):
    """MNIST handwritten digits, with the same layout and search order as ``fashion_mnist``
    (there is no Debian package for it, so no system folder)."""
    return _load(MNIST, root, download, downloader)


def cache_dir(name):
    return Path.home() / ".cache" / "microdl" / name


def _candidates(source, root):
    """(folder, why it is looked at), in search order."""
    places = []
    if root is not None:
        places += [(Path(root), "root="), (Path(root) / source.name, "root=")]
    env = os.environ.get("MICRODL_DATA")
    if env:
        places.append((Path(env) / source.name, "$MICRODL_DATA"))
    places.append((cache_dir(source.name), "cache"))
    if source.system_dir:
        places.append((Path(source.system_dir), f"Debian package {source.system_package}"))
    return places


def _find_files(folder):
    """The four files in ``folder`` (each raw or .gz), or None unless all four are there."""
    found = []
    for stem in _FILES:
        options = [folder / stem, folder / (stem + ".gz")]
        present = [p for p in options if p.is_file()]
        if not present:
            return None
        found.append(present[0])
    return found


def _load(source, root, download, downloader):
    places = _candidates(source, root)
    for folder, _ in places:
        files = _find_files(folder)
        if files is not None:
            return _read_set(files)
    reason = "download=False"
    if download:
        try:
            return _read_set(_download_all(source, downloader or download_url))
        except _Unreachable as error:
            reason = f"the download failed ({error})"
    raise DatasetNotFoundError(_not_found_message(source, places, reason))


def _read_set(files):
    x_train, y_train, x_test, y_test = (read_idx(f) for f in files)
    for images, labels, image_file, label_file in ((x_train, y_train, files[0], files[1]),
                                                   (x_test, y_test, files[2], files[3])):
        if images.ndim != 3 or images.dtype != np.uint8:
            raise IDXError(f"{image_file}: expected uint8 images of shape (n, rows, cols), got "
                           f"{images.dtype} of shape {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise IDXError(f"{label_file}: expected {len(images)} labels (one per image in "
                           f"{image_file.name}), got shape {labels.shape}")
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))


def _download_all(source, downloader):
    """Download the four files into the cache; each is verified before it appears there."""
    folder = cache_dir(source.name)
    created = [p for p in (folder, *folder.parents) if not p.exists()]  # innermost first
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    try:
        for stem in _FILES:
            paths.append(_download_one(source, stem + ".gz", folder, downloader))
    except BaseException:
        for directory in created:  # a failed first download leaves no empty folders behind
            if not any(directory.iterdir()):
                directory.rmdir()
        raise
    return paths


def _download_one(source, filename, folder, downloader):
    target = folder / filename
    if target.is_file():
        return target
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=filename + ".", suffix=".part")
    os.close(fd)
    try:
        errors = []
        for base in source.mirrors:
            try:
                downloader(base + filename, tmp)
                break
            except OSError as error:  # urllib's URLError and socket timeouts included
                errors.append(f"{base + filename}: {error}")
        else:
            raise _Unreachable("; ".join(errors))
        digest = _sha256(tmp)
        expected = source.sha256[filename]
        if digest != expected:
            raise ChecksumError(f"{source.title} {filename}: SHA-256 mismatch: expected "
                                f"{expected}, got {digest}; the file was discarded (a broken "
                                "download or a changed mirror)")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _not_found_message(source, places, reason):
    files = ", ".join(f"{stem}(.gz)" for stem in _FILES)
    looked = "\n".join(f"  {folder}  ({why})" for folder, why in places)
    if "MICRODL_DATA" not in os.environ:
        looked += "\n  $MICRODL_DATA/<name>  (not set)"
    ways = [f"pass root=<folder holding the four files> to {source.name.replace('-', '_')}()",
            f"set MICRODL_DATA=<folder> and put the files in <folder>/{source.name}",
            f"put the files in {cache_dir(source.name)}"]
    if source.system_package:
        ways.append(f"apt-get install {source.system_package} (Debian/Ubuntu; installs "
                    f"{source.system_dir})")
    ways.append(f"allow the download (download=True, with network access) from "
                f"{source.mirrors[0]}")
    return (f"{source.title} not found and not downloaded: {reason}.\n"
            f"Looked for {files} in:\n{looked}\nWays to get the data:\n"
            + "\n".join(f"  - {w}" for w in ways))


# ---- feature scaling -------------------------------------------------------------------------

def _fit_apply(train, test, name):
    train = np.asarray(train)
    if train.ndim == 0 or len(train) == 0:
        raise ValueError(f"{name}: train needs at least one sample (got shape {train.shape})")
    dtype = train.dtype if train.dtype.kind == "f" else np.dtype(np.float32)
    if test is not None:
        test = np.asarray(test)
        if test.shape[1:] != train.shape[1:]:
            raise ValueError(f"{name}: test samples have shape {test.shape[1:]}, train samples "
                             f"{train.shape[1:]}; the features must match")
    return train, test, dtype


def min_max_scale(train, test=None):
    """Per-feature min-max scaling fitted on train: x' = (x - min) / (max - min).

    min and max are taken over train's first (sample) axis and applied to both arrays, so test
    values may fall outside [0, 1]. A constant feature (max == min) divides by 1 instead of 0.
    Integer input gives float32; float input keeps its dtype. Returns (train', test' or None).
    """
    train, test, dtype = _fit_apply(train, test, "min_max_scale")
    low = train.min(axis=0).astype(np.float64)
    span = train.max(axis=0).astype(np.float64) - low
    span = np.where(span == 0, 1.0, span)
    return _apply(train, test, low, span, dtype)


def standardize(train, test=None):
    """Per-feature standardization fitted on train: x' = (x - mean) / std.

    mean and the population std (ddof=0) come from train's first axis, in float64, and are
    applied to both arrays. A constant feature (all train values equal) divides by 1 instead of
    0. Integer input gives float32; float input keeps its dtype. Returns (train', test' or None).
    """
    train, test, dtype = _fit_apply(train, test, "standardize")
    mean = train.mean(axis=0, dtype=np.float64)
    std = train.std(axis=0, dtype=np.float64)
    # NOTE: test constancy exactly (max == min): rounding in the float64 mean can leave a
    # constant feature with a std of 1e-17 that would blow its values up.
    std = np.where(train.max(axis=0) == train.min(axis=0), 1.0, std)
    return _apply(train, test, mean, std, dtype)


def _apply(train, test, shift, scale, dtype):
    def transform(x):
        return ((x - shift) / scale).astype(dtype)

    return transform(train), (None if test is None else transform(test))
