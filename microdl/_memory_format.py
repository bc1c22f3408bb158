"""torch.memory_format's three names, for the ``memory_format=`` argument of ``to``, ``clone``,
``contiguous``, ``float`` ... and the ``*_like`` creation functions.

microdl's ops make C-contiguous arrays (the layout PyTorch calls ``contiguous_format``), so
``preserve_format`` and ``contiguous_format`` both ask for what every tensor already is.
``channels_last`` (NHWC strides) is a layout microdl does not have: asking for it raises
NotImplementedError rather than handing back a tensor of another layout than asked.
"""


class memory_format:
    """A layout name, PyTorch's ``torch.memory_format``: compared by identity."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"microdl.{self.name}"


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def check_memory_format(function, value):
    """Accept the layouts microdl's arrays have; refuse the others loudly (``function``: the
    caller's name, for the message)."""
    if value is None or value is preserve_format or value is contiguous_format:
        return
    if value is channels_last or value is channels_last_3d:
        raise NotImplementedError(
            f"{function}(memory_format={value!r}): microdl's tensors are C-contiguous "
            f"(contiguous_format) only; it has no {value.name} layout")
    raise TypeError(f"{function}(): argument 'memory_format' must be microdl.memory_format, "
                    f"not {type(value).__name__}")
