"""microdl's imports run one way: a parse of every module's imports against the layer table.

Every ``import`` and ``from ... import`` in every module of the package counts, at module level
and inside functions alike (a lazy import is still a dependency, and a circle made of lazy
imports is still a circle a reader has to untangle). Imports through ``importlib`` with a
computed name (the backend picking a kernel set) are run-time choices and are not seen here.

The run-time half of the CUDA rule, that ``import microdl`` loads neither ``numba.cuda`` nor
``microdl.kernels.cuda``, is checked in a fresh interpreter by
``tests/cuda/test_cuda_device.py::test_import_microdl_does_not_touch_cuda``.
"""

import ast
import fnmatch
import pathlib
from collections import namedtuple

import pytest

PACKAGE = "microdl"
PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1] / PACKAGE

# ---------------------------------------------------------------------------------------------
# The design, as data.
#
# Layers, top to bottom. A module may import modules of its own layer or of any layer below it,
# never one above. "x.*" means the module x and everything under it; "microdl._*" is every
# private top-level module (helpers with no microdl imports of their own worth a layer).
LAYERS = [
    ("package", ["microdl"]),  # public names only: it may import anything
    ("train", ["microdl.train"]),
    ("warmup", ["microdl.warmup"]),
    ("profiler", ["microdl.profiler"]),
    ("io", ["microdl.io"]),
    ("legacy_types", ["microdl._legacy_types"]),  # torch.FloatTensor, ...: make tensors
    ("typeinfo", ["microdl._typeinfo"]),  # finfo/iinfo, is_floating_point: above tensor
    ("backends", ["microdl.backends"]),  # torch.backends flags (no effect) and determinism
    ("utils", ["microdl.utils.*"]),  # torch.utils.data's path to microdl.data
    ("data", ["microdl.data.*"]),
    ("optim", ["microdl.optim.*"]),
    ("nn", ["microdl.nn.*"]),
    ("functional", ["microdl.functional.*"]),
    ("linalg", ["microdl.linalg"]),  # torch.linalg's norms: Tensor methods and ops
    # NOTE: above tensor, not beside it: gradcheck drives Tensors, and tensor has no business
    # importing a test helper.
    ("gradcheck", ["microdl.gradcheck"]),
    # out= of the microdl.X functions: writes an op's result into a given tensor
    ("out", ["microdl._out"]),
    ("creation", ["microdl.creation"]),  # zeros, arange, rand, ...: Tensors made from nothing
    ("tensor", ["microdl.tensor"]),
    ("tensor_methods", ["microdl.tensor_methods.*"]),  # the Tensor methods by topic (mixins)
    ("ops", ["microdl.ops.*"]),
    ("autograd", ["microdl.autograd"]),
    ("device", ["microdl._device"]),
    ("cuda", ["microdl.cuda"]),  # torch.cuda's questions; asks the driver, not numba.cuda
    ("backend", ["microdl.backend"]),
    ("kernels", ["microdl.kernels.*"]),
    ("utilities", ["microdl._buffers", "microdl._threads", "microdl.random",
                   "microdl._memory_format"]),
]

# The one circle the design keeps: a Tensor records into the tape, and backward() hands back
# Tensors. autograd imports tensor lazily (inside a function), so this pair is also exempt from
# the layer order in that one direction.
ALLOWED_CYCLE = frozenset({"microdl.tensor", "microdl.autograd"})
ALLOWED_UPWARD = frozenset({("microdl.autograd", "microdl.tensor")})

# Kernel sets are independent twins of one specification; a fast set may reuse a reference
# function where numpy already is the fast path, so every set may import numpy_ref.
KERNEL_SETS = ("numpy_ref", "cpu", "cuda")
SHARED_KERNEL_SET = "numpy_ref"

# Rules beyond the layer order: (name, importers, exempt importers, imported, scope, why).
# scope "anywhere" counts imports inside functions too; "module level" only those that run when
# the importing module itself is imported.
Rule = namedtuple("Rule", "name importers exempt imported scope why")
RULES = [
    Rule("ops-without-numba", ["microdl.ops.*"], [], ["numba", "numba.*"], "anywhere",
         "ops are written once for every device; compiled code lives in kernels"),
    Rule("kernels-through-backend", ["microdl.*"],
         ["microdl.backend", "microdl._device", "microdl.kernels.*"],
         ["microdl.kernels.*"], "anywhere",
         "above the backend, code asks backend for the kernel set of its arrays, so nothing "
         "above it is tied to one set (device may reach kernels.cuda to move arrays)"),
    Rule("cuda-loads-late", ["microdl.*"], ["microdl.kernels.cuda.*"],
         ["numba.cuda", "numba.cuda.*", "microdl.kernels.cuda.*"], "module level",
         "import microdl must work with no GPU and no CUDA toolkit: CUDA is imported inside the "
         "function that first needs it (device.py's moves, the backend's lookup)"),
] + [
    Rule(f"kernels-{name}-stands-alone", [f"microdl.kernels.{name}.*"], [],
         [f"microdl.kernels.{other}.*" for other in KERNEL_SETS
          if other not in (name, SHARED_KERNEL_SET)], "anywhere",
         "kernel sets are twins of numpy_ref, not of each other")
    for name in KERNEL_SETS
]
# ---------------------------------------------------------------------------------------------

Import = namedtuple("Import", "importer target path line in_function")


def matches(pattern, module):
    """True when ``module`` falls under ``pattern`` ("x", "x.*" for x and below, or a glob)."""
    if pattern.endswith(".*") and module == pattern[:-2]:
        return True
    return fnmatch.fnmatchcase(module, pattern)


def matches_any(patterns, module):
    return any(matches(pattern, module) for pattern in patterns)


def layer_of(module):
    """Index of the module's layer in LAYERS (0 is the top), or None when no layer names it."""
    found = {index for index, (_, patterns) in enumerate(LAYERS) if matches_any(patterns, module)}
    assert len(found) <= 1, f"{module} falls in several layers: {sorted(found)}; fix LAYERS"
    return found.pop() if found else None


def package_modules(root=PACKAGE_DIR, package=PACKAGE):
    """{dotted module name: path} for every .py file of the package (a package is its
    __init__.py)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


class _ImportCollector(ast.NodeVisitor):
    """Every import statement of one module, with whether it sits inside a function (a lazy
    import runs on the first call, not when the module is imported)."""

    def __init__(self):
        self.found = []  # (node, in_function)
        self._depth = 0

    def _function(self, node):
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node):
        self.found.append((node, self._depth > 0))

    visit_ImportFrom = visit_Import


def imports_of(module, source, is_package, known):
    """The Imports of one module's source, with relative names resolved against its package.

    ``from .x import y`` depends on the module ``x.y`` when that is a module of ours, else on
    ``x`` (y is a name defined in it). A name from outside microdl (``from numba import cuda``)
    is taken as a submodule, ``numba.cuda``: without importing it we cannot tell, and counting it
    as one is what the CUDA rules need.
    """
    collector = _ImportCollector()
    collector.visit(ast.parse(source))
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node, in_function in collector.found:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package_parts[:len(package_parts) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            targets = []
            for alias in node.names:
                candidate = f"{origin}.{alias.name}"
                if alias.name == "*":
                    targets.append(origin)
                elif candidate in known or not is_ours(origin):
                    targets.append(candidate)
                else:
                    targets.append(origin)
        found += [Import(module, target, None, node.lineno, in_function) for target in targets]
    return found


def is_ours(name):
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def collect_imports():
    """Every Import in the package, with microdl targets resolved to the longest known module
    (``import microdl.nn.functional`` where only ``microdl.nn`` exists is a dependency on it)."""
    modules = package_modules()
    found = []
    for module, path in modules.items():
        for item in imports_of(module, path.read_text(), path.name == "__init__.py", modules):
            target = item.target
            while is_ours(target) and target not in modules:
                target = target.rsplit(".", 1)[0]
            found.append(item._replace(target=target, path=path))
    return modules, found


def where(item):
    relative = item.path.relative_to(PACKAGE_DIR.parent)
    return f"{relative}:{item.line}" + (" (inside a function)" if item.in_function else "")


def strongly_connected_components(nodes, edges):
    """Tarjan's algorithm, iterative so that a deep chain cannot hit the recursion limit."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


@pytest.fixture(scope="module")
def graph():
    return collect_imports()


def test_the_parser_sees_relative_lazy_and_absolute_imports():
    known = {"microdl", "microdl.ops", "microdl.ops.activation", "microdl.ops.cuda",
             "microdl.ops.cuda.nn", "microdl.tensor", "microdl.device"}
    source = ("import numpy as np\n"
              "import microdl.tensor\n"
              "from numba import cuda, float64\n"
              "from .. import activation as act\n"
              "from ... import device\n"
              "from ...tensor import Tensor\n"
              "def lazy():\n"
              "    from .. import unknown_name\n")
    found = {(i.target, i.in_function)
             for i in imports_of("microdl.ops.cuda.nn", source, False, known)}
    assert found == {("numpy", False), ("microdl.tensor", False), ("numba.cuda", False),
                     ("numba.float64", False), ("microdl.ops.activation", False),
                     ("microdl.device", False), ("microdl.tensor", False),
                     ("microdl.ops", True)}
    # a package's own __init__ resolves "." to itself
    found = imports_of("microdl.ops", "from . import activation\n", True, known)
    assert [i.target for i in found] == ["microdl.ops.activation"]


def test_every_module_has_a_layer(graph):
    modules, _ = graph
    assert len(modules) > 20, f"found only {len(modules)} modules under {PACKAGE_DIR}"
    homeless = sorted(m for m in modules if layer_of(m) is None)
    assert not homeless, f"modules with no layer (add them to LAYERS): {homeless}"


def test_no_import_cycles_but_tensor_and_autograd(graph):
    modules, imports = graph
    edges = {}
    for item in imports:
        if item.target in modules and item.target != item.importer:
            edges.setdefault(item.importer, set()).add(item.target)
    cycles = [c for c in strongly_connected_components(modules, edges)
              if len(c) > 1 and c != ALLOWED_CYCLE]
    report = []
    for cycle in sorted(cycles, key=sorted):
        inside = sorted({f"  {i.importer} -> {i.target}  {where(i)}" for i in imports
                         if i.importer in cycle and i.target in cycle
                         and i.importer != i.target}, key=str)
        report.append(f"circle of {len(cycle)}: {', '.join(sorted(cycle))}\n" + "\n".join(inside))
    assert not cycles, "import circles (only tensor <-> autograd is allowed):\n" + \
        "\n".join(report)


def test_imports_follow_the_layers(graph):
    modules, imports = graph
    against = []
    for item in imports:
        if item.target not in modules or (item.importer, item.target) in ALLOWED_UPWARD:
            continue
        mine, theirs = layer_of(item.importer), layer_of(item.target)
        if mine is not None and theirs is not None and theirs < mine:
            against.append(f"  {item.importer} ({LAYERS[mine][0]}) imports {item.target} "
                           f"({LAYERS[theirs][0]}, above it)  {where(item)}")
    assert not against, "imports against the layer order:\n" + "\n".join(sorted(set(against)))


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_import_rules(graph, rule):
    _, imports = graph
    broken = sorted({f"  {i.importer} imports {i.target}  {where(i)}" for i in imports
                     if matches_any(rule.importers, i.importer)
                     and not matches_any(rule.exempt, i.importer)
                     and matches_any(rule.imported, i.target)
                     and (rule.scope == "anywhere" or not i.in_function)})
    assert not broken, f"{rule.name}: {rule.why}:\n" + "\n".join(broken)


def test_the_table_names_modules_that_exist(graph):
    # A renamed module must not leave a stale pattern that silently matches nothing.
    modules, _ = graph
    stale = [pattern for _, patterns in LAYERS for pattern in patterns
             if not any(matches(pattern, m) for m in modules)]
    stale += [f"microdl.kernels.{name}" for name in KERNEL_SETS
              if f"microdl.kernels.{name}" not in modules]
    assert not stale, f"patterns that match no module: {stale}"
