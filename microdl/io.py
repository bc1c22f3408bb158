"""save / load: (nested) state dicts to one .npz file, written atomically.

A state can be a model's ``state_dict()``, an optimizer's, or a dict holding several of them
with plain values (epoch numbers, random-generator state, strings, lists, tuples, None). Arrays
(and tensors, stored as their arrays) and numpy scalars (as 0-d arrays, so that they come back
with their dtype) become the .npz members "a0", "a1", ...; the tree itself
goes to a JSON manifest member, with each array replaced by its member number and each dict
stored as a list of [key, value] pairs so that non-string keys (an optimizer's parameter
indices) come back with their type. Files are read with ``allow_pickle=False``: loading never
runs code from the file.

The write goes to a temporary file in the same folder, is flushed and fsynced, then renamed over
the target: a crash or a full disk mid-write leaves the previous file as it was.
"""

import json
import os
import stat
import uuid
import zipfile
from pathlib import Path

import numpy as np

from .tensor import Tensor

# v2 adds numpy scalars kept as 0-d members ("__scalar__"); a file without any is written as v1,
# which older microdl versions read too.
FORMAT = "microdl-state-v2"
FORMAT_V1 = "microdl-state-v1"
_MANIFEST = "__microdl__"


class CheckpointError(ValueError):
    """A file that is missing, truncated, corrupted or not a microdl checkpoint."""


def _encode(value, arrays):
    """The JSON tree of value; its arrays are appended to ``arrays`` and referenced by number."""
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("save: cannot store an array of Python objects (dtype object); "
                            "it could only be read back by unpickling")
        arrays.append(value)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, np.generic):  # kept as a 0-d member: a float32 lr stays float32
        if value.dtype.hasobject:
            raise TypeError("save: cannot store a numpy object scalar")
        arrays.append(np.asarray(value))
        return {"__scalar__": len(arrays) - 1}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
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
        if "__scalar__" in value:
            return arrays[f"a{value['__scalar__']}"][()]
        if "__tuple__" in value:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__dict__"]}
    return value


def _fsync_directory(folder):
    # NOTE: makes the rename itself durable; not possible on every OS (Windows), so best effort.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(state, path):
    """Write ``state`` (arrays, tensors, numbers, strings, None, nested dicts/lists/tuples) to
    ``path``, atomically: either the whole new file is there afterwards or the old one is."""
    _refuse_objects(state)
    path = Path(path)
    arrays = []
    tree = json.dumps(_encode(state, arrays))
    version = FORMAT if '"__scalar__"' in tree else FORMAT_V1
    manifest = f'{{"format": {json.dumps(version)}, "tree": {tree}}}'
    members = {f"a{i}": a for i, a in enumerate(arrays)}
    members[_MANIFEST] = np.frombuffer(manifest.encode("utf-8"), dtype=np.uint8)
    replace_atomically(path, lambda f: np.savez(f, **members))
    return path


def _refuse_objects(state):
    """PyTorch pickles whole modules and optimizers; microdl's format holds arrays and plain
    containers on purpose (loading never runs code), so it says what to save instead."""
    from .nn.module import Module
    from .optim.optimizer import Optimizer

    for kind, what in ((Module, "model"), (Optimizer, "optimizer")):
        if isinstance(state, kind):
            raise TypeError(f"save: cannot store a whole {type(state).__name__} object: microdl "
                            f"saves state dicts, not pickled objects. Save "
                            f"{what}.state_dict() and restore it with "
                            f"{what}.load_state_dict(microdl.load(path))")


def replace_atomically(path, write):
    """Call ``write(f)`` on a new temporary file in the folder of ``path`` (of the file it points
    to, for a symlink, as open() would write it), fsync it, give it the replaced file's mode,
    and rename it over that file: afterwards there is either the old file or the whole new one.
    """
    target = Path(os.path.realpath(path))
    # NOTE: open(..., "xb") rather than mkstemp, so the file gets the usual umask permissions
    # (or the replaced file's). The name is short enough for any target name to fit.
    tmp = target.with_name(f".{target.name[:40]}.{uuid.uuid4().hex[:16]}.tmp")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if target.exists():
            try:
                os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
            except OSError:  # some file systems (vfat, CIFS) refuse modes: keep the default
                pass
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read a file written by ``save``; CheckpointError, naming the path, for anything else.

    Arrays come back as numpy arrays (a saved Tensor too), dicts as plain dicts.

    PyTorch's other arguments are accepted: ``weights_only`` (True, False or None) changes
    nothing, since this format holds only arrays and plain containers and is read without
    unpickling (always what weights_only=True asks for); ``map_location`` (None, a device name
    or device, a dict or a function, as PyTorch takes it) changes nothing either, since arrays
    come back on the host and ``load_state_dict`` copies them to the parameters' device.
    ``pickle_module``, ``mmap`` and pickle arguments have nothing to act on and must be unset.
    """
    _check_load_arguments(map_location, pickle_module, weights_only, mmap, pickle_load_args)
    path = Path(f)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a microdl checkpoint (not an .npz archive: "
                              "truncated, corrupted or another format)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if _MANIFEST not in archive.files:
                raise CheckpointError(f"{path}: an .npz file but not a microdl checkpoint "
                                      f"(no {_MANIFEST} entry; written by numpy.savez?)")
            manifest = json.loads(bytes(archive[_MANIFEST]).decode("utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT,
                                                                                 FORMAT_V1):
                found = manifest.get("format") if isinstance(manifest, dict) else None
                raise CheckpointError(f"{path}: unknown checkpoint format {found!r} "
                                      f"(expected {FORMAT!r} or {FORMAT_V1!r})")
            arrays = {name: archive[name] for name in archive.files if name != _MANIFEST}
            return _decode(manifest["tree"], arrays)
    except CheckpointError:
        raise
    except Exception as error:
        # NOTE: every other error here comes from parsing the file's bytes (zipfile, numpy's
        # .npy headers, zlib, JSON, the manifest's tree: BadZipFile, NotImplementedError for an
        # unknown compression, RecursionError for deep JSON, MemoryError for a header claiming
        # a huge array, ...): all of them mean a damaged file, and the caller gets one type.
        raise CheckpointError(f"{path}: not a readable microdl checkpoint (truncated or "
                              f"corrupted): {type(error).__name__}: {error}") from None


def _check_load_arguments(map_location, pickle_module, weights_only, mmap, pickle_load_args):
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be True, False or None (got {weights_only!r})")
    if not (map_location is None or isinstance(map_location, (str, dict)) or
            callable(map_location) or type(map_location).__name__ == "device"):
        raise TypeError(f"load: map_location must be None, a device, a string, a dict or a "
                        f"function (got {type(map_location).__name__})")
    if isinstance(map_location, str):
        from ._device import device

        device(map_location)  # PyTorch's RuntimeError for a device string it cannot parse
    if pickle_module is not None or mmap or pickle_load_args:
        raise TypeError("load: microdl files are .npz archives read without pickle; "
                        "pickle_module, mmap and pickle load arguments do not apply")
