"""No import circles in the installed package.

Every module of the installed package (the packages and package folders that pyproject.toml names: the
`modeling_mtl_bilstm` tree, `data_scripts/` as `modeling_mtl_bilstm.data_scripts` and the metric as
`modeling_mtl_bilstm.metrics`) is parsed with `ast`, and each of its imports of another module of the package
becomes an edge of the import graph: absolute and relative imports, `from package import submodule` as an edge to
the submodule, anything else from a package as an edge to the package, and an edge to the `__init__` of each package
above the imported module that the import runs (those above the importing module are already running).

The rule: the graph has no cycle, lazy imports included. An import inside a function is allowed (to keep torch,
transformers or an optional extra out of a code path that does not need them), but it is an edge like any other:
a circle closed by a function-level import is still a circle, only one that fails later and elsewhere. Imports under
`if TYPE_CHECKING:` never run and are left out. Modules imported by name (`importlib.import_module` in the lazy
package `__init__`s) are not edges: the names they resolve are listed in the `__init__` and tested by the tests of
those names.
"""

import ast
from pathlib import Path


try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


ROOT = Path(__file__).resolve().parents[1]


def package_modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the packages that pyproject.toml installs."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package_dir = setuptools.get("package-dir", {})
    modules = {}
    for package in setuptools["packages"]:
        folder = ROOT / package_dir.get(package, package.replace(".", "/"))
        for path in sorted(folder.glob("*.py")):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, in_function: bool = False):
    """(import node, whether it sits inside a function) for each import that can run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            # Its body never runs; an `else:` branch does.
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), in_function)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, in_function
        else:
            yield from _imports(node, in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))


def import_graph(modules: dict[str, Path]) -> dict[str, dict[str, tuple[int, bool]]]:
    """Module -> {imported module of the package: (line of the first such import, whether it is lazy)}."""
    graph = {}
    for name, path in modules.items():
        package = name if path.stem == "__init__" else name.rpartition(".")[0]
        edges = {}
        for node, lazy in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source for alias in node.names
                ]
            for target in targets:
                # `import a.b.c` imports the longest prefix that is a module of the package.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                # ... and runs the `__init__` of each package above it that is not already running above this module.
                parts = target.split(".")
                for depth in range(1, len(parts) + 1):
                    imported = ".".join(parts[:depth])
                    if imported in modules and imported != name and not name.startswith(f"{imported}."):
                        edges.setdefault(imported, (node.lineno, lazy))
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, dict]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan's algorithm), as a path."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(set(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph, component: set[str]) -> list[str]:
    """A path start -> ... -> start inside a strongly connected component (breadth first from its first member)."""
    start = min(component)
    previous, frontier = {start: None}, [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node]):
                if target == start:
                    path = [node]
                    while previous[path[-1]] is not None:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if target in component and target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")


def describe_cycle(graph, cycle: list[str], modules: dict[str, Path]) -> str:
    steps = []
    for source, target in zip(cycle, cycle[1:]):
        line, lazy = graph[source][target]
        where = modules[source].relative_to(ROOT)
        steps.append(f"  {source} ({where}:{line}{', in a function' if lazy else ''}) imports {target}")
    return "\n".join(steps)


def test_package_modules_are_found():
    modules = package_modules()
    for name in (
        "modeling_mtl_bilstm",
        "modeling_mtl_bilstm.inference.predictor",
        "modeling_mtl_bilstm.training.experiment",
        "modeling_mtl_bilstm.data_scripts.korean_ner",
        "modeling_mtl_bilstm.metrics.korean_ner_pos",
    ):
        assert name in modules, f"expected {name} among the package's modules, found {sorted(modules)}"


def test_the_graph_sees_relative_absolute_and_lazy_imports():
    graph = import_graph(package_modules())
    assert graph["modeling_mtl_bilstm.modeling_mtl_bilstm"]["modeling_mtl_bilstm.crf"][1] is False
    # `from . import x` is an edge to the submodule; a function-level import is flagged lazy.
    assert "modeling_mtl_bilstm.data_scripts.tag_schemes" in graph["modeling_mtl_bilstm.data_scripts.korean_ner"]
    assert graph["modeling_mtl_bilstm.hub.commands"]["modeling_mtl_bilstm.hub.publish"][1] is True


def test_no_import_cycles():
    modules = package_modules()
    graph = import_graph(modules)
    cycles = find_cycles(graph)
    report = "\n\n".join(describe_cycle(graph, cycle, modules) for cycle in cycles)
    assert not cycles, f"expected no import cycles in the package, found {len(cycles)}:\n{report}"


MAX_MODULE_LINES = 500


def test_no_module_of_the_package_is_longer_than_500_lines():
    """A module that outgrows this does several jobs: split it along them (re-exporting moved public names)."""
    long = {
        name: lines
        for name, path in package_modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"expected at most {MAX_MODULE_LINES} lines per module, received {long}"
