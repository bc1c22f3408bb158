"""save / load: (nested) state dicts to one .npz file, written atomically.

A state can be a model's ``state_dict()``, an optimizer's, or a dict holding several of them
with plain values (epoch numbers, random-generator state, strings, lists, None). Arrays are
stored as the .npz members "a0", "a1", ...; everything else goes to a JSON manifest member that
also records the tree's shape, so ``load`` rebuilds the same nesting. Files are read with
``allow_pickle=False``: loading never runs code from the file.

The write goes to a temporary file in the same folder, is flushed and fsynced, then renamed over
the target: a crash or a full disk mid-write leaves the previous file as it was.
"""

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .tensor import Tensor

FORMAT = "microdl-state-v1"
_MANIFEST = "__microdl__"


class CheckpointError(ValueError):
    """A file that is missing, truncated, corrupted or not a microdl checkpoint."""


def _encode(value, arrays):
    """Replace arrays by references, keep JSON values; dict keys keep their type."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        items = [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]
        return {"__dict__": items}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save: cannot store a value of type {type(value).__name__}")


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[f"a{value['__array__']}"]
        if "__tuple__" in value:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__dict__"]}
    return value


def save(state, path):
    """Write ``state`` (arrays, tensors, numbers, strings, None, nested dicts/lists) to path."""
    path = Path(path)
    arrays = []
    manifest = json.dumps({"format": FORMAT, "tree": _encode(state, arrays)})
    members = {f"a{i}": a for i, a in enumerate(arrays)}
    members[_MANIFEST] = np.frombuffer(manifest.encode("utf-8"), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path):
    """Read a file written by ``save``; a clear CheckpointError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a microdl checkpoint (not an .npz archive; "
                              "truncated, corrupted or another format)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if _MANIFEST not in archive.files:
                raise CheckpointError(f"{path}: an .npz file but not a microdl checkpoint "
                                      f"(no {_MANIFEST} entry)")
            manifest = json.loads(bytes(archive[_MANIFEST]).decode("utf-8"))
            if manifest.get("format") != FORMAT:
                raise CheckpointError(f"{path}: unknown checkpoint format "
                                      f"{manifest.get('format')!r} (expected {FORMAT})")
            arrays = {name: archive[name] for name in archive.files if name != _MANIFEST}
            return _decode(manifest["tree"], arrays)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path}: not a readable microdl checkpoint (truncated or "
                              f"corrupted): {type(error).__name__}: {error}") from None
