"""The dependency fences of DESIGN.md, checked on the source's import statements."""
import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {"ocispec", "registry", "storage_backends", "puller", "runtime", "builder", "pyreg_cli"}

# package -> top-level modules it must never import
FORBIDDEN = {
    "ocispec": PROJECT_PACKAGES - {"ocispec"},
    "storage_backends": PROJECT_PACKAGES - {"storage_backends"},
    "registry": {"puller", "runtime", "builder", "pyreg_cli"},
    # The client speaks HTTP itself (puller/http); aiohttp is the server's.
    "puller": {"registry", "runtime", "builder", "storage_backends", "pyreg_cli", "aiohttp", "aiofiles"},
    # The runtime reads the local store through puller.store only, and must
    # start fast: no aiohttp, boto3 or server code.
    "runtime": {"registry", "storage_backends", "builder", "pyreg_cli", "aiohttp", "boto3", "aiofiles"},
    # The builder sits above the client and the runtime (it pulls bases and
    # runs RUN steps); only the command line imports it.
    "builder": {"registry", "storage_backends", "pyreg_cli"},
}
# Modules the runtime's start path loads: they must stay light.
LIGHT_MODULES = ["puller/store.py", "puller/errors.py"]
# Packages whose files import each other only downward: no circles.
ACYCLIC_PACKAGES = ["puller", "runtime", "builder"]


def imported_modules_of(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {node.module}
    return set()


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {name for node in ast.walk(tree) for name in imported_modules_of(node)}


def top_levels(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def source_files(package: str):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_fences(package):
    violations = []
    for path in source_files(package):
        bad = top_levels(path) & FORBIDDEN[package]
        if package == "runtime":
            bad |= {n for n in imported_modules(path) if n.startswith("puller") and n != "puller.store"}
        if bad:
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not violations, violations


def _top_level_names(nodes) -> set[str]:
    return {name.split(".")[0] for node in nodes for name in imported_modules_of(node)}


def accelerators(path: Path) -> set[str]:
    """Modules imported in `try:` with an `except ImportError:` that imports
    a standard library module in their place: optional, the code runs without."""
    optional = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Try):
            continue
        for handler in node.handlers:
            caught = handler.type
            fallback = _top_level_names(ast.walk(ast.Module(body=handler.body, type_ignores=[])))
            if isinstance(caught, ast.Name) and caught.id == "ImportError" and \
                    fallback and fallback <= set(sys.stdlib_module_names):
                optional |= _top_level_names(node.body)
    return optional


def test_ocispec_is_standard_library_only():
    """Standard library only, but for an accelerator that has a fallback
    there (isal for zlib): ocispec runs, slower, where nothing else is installed."""
    outside = []
    for path in source_files("ocispec"):
        for name in top_levels(path) - accelerators(path):
            if name not in sys.stdlib_module_names and name != "ocispec":
                outside.append(f"{path.relative_to(ROOT)}: {name}")
    assert not outside, outside


@pytest.mark.parametrize("relative", LIGHT_MODULES)
def test_runtime_path_modules_are_light(relative):
    path = ROOT / relative
    if not path.exists():
        pytest.fail(f"{relative} is missing")
    heavy = top_levels(path) & {"aiohttp", "boto3", "aiofiles", "yaml"}
    assert not heavy, heavy


# The runtime's wings (runtime/__init__.py draws them): a file imports its
# own wing, the wings on lower floors and the shared leaves, nothing higher
# and nothing beside it on its own floor.
WING_FLOORS = {"kernel": 1, "fs": 2, "runspec": 2, "image": 3, "inside": 3, "netplumb": 3, "volumes": 3,
               "container": 4}


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def project_modules() -> set[str]:
    return {module_name(p) for package in PROJECT_PACKAGES for p in source_files(package)}


def resolved_imports(path: Path, known: set[str], nodes=None) -> set[str]:
    """The project modules a file (or only the import nodes given) imports,
    relative imports resolved, `from package import module` as the module."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in nodes if nodes is not None else ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def wing_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "runtime" else None


def test_runtime_wings_import_only_downward():
    known, wrong = project_modules(), []
    assert {wing_of(m) for m in known if wing_of(m)} == set(WING_FLOORS), "a wing without a floor"
    for path in source_files("runtime"):
        wing = wing_of(module_name(path))
        for imported in resolved_imports(path, known):
            other = wing_of(imported)
            if wing and other and other != wing and WING_FLOORS[other] >= WING_FLOORS[wing]:
                wrong.append(f"{module_name(path)} imports {imported}")
            if not wing and other:
                wrong.append(f"the shared leaf {module_name(path)} imports {imported}")
    assert not wrong, wrong


def test_inside_the_container_imports_nothing_of_the_container_side():
    known = project_modules()
    wrong = [f"{module_name(p)} imports {m}" for p in source_files("runtime/inside")
             for m in resolved_imports(p, known) if m.startswith("runtime.container")]
    assert not wrong, wrong


def imports_inside_functions(path: Path) -> list[ast.AST]:
    nodes = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            nodes += [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return nodes


def test_nothing_the_container_runs_after_pivot_root_imports_lazily():
    """After pivot_root the host's modules are out of reach: inside/, and
    every project module it imports, import everything when they load."""
    known = project_modules()
    by_name = {module_name(p): p for package in PROJECT_PACKAGES for p in source_files(package)}
    seen, pending = set(), [module_name(p) for p in source_files("runtime/inside")]
    while pending:
        module = pending.pop()
        if module not in seen:
            seen.add(module)
            pending += resolved_imports(by_name[module], known)
    lazy = [f"{m}:{n.lineno}" for m in sorted(seen) for n in imports_inside_functions(by_name[m])]
    assert "runtime.kernel.linux" in seen and "runtime.fs.rootfs" in seen
    assert not lazy, lazy


@pytest.mark.parametrize("package", ACYCLIC_PACKAGES)
def test_imports_inside_a_package_have_no_circles(package):
    """Lazy imports count: a lazy import still ties the two files together."""
    known = project_modules()
    graph = {module_name(p): resolved_imports(p, known) for p in source_files(package)}
    graph = {m: {i for i in imports if i in graph and i != m} for m, imports in graph.items()}
    state: dict[str, str] = {}

    def circle_from(module: str, trail: list[str]) -> list[str] | None:
        if state.get(module) == "open":
            return trail[trail.index(module):] + [module]
        if state.get(module) == "done":
            return None
        state[module] = "open"
        for imported in sorted(graph.get(module, ())):
            found = circle_from(imported, trail + [module])
            if found:
                return found
        state[module] = "done"
        return None
    circles = [c for c in (circle_from(m, []) for m in sorted(graph)) if c]
    assert not circles, " -> ".join(circles[0])


def test_no_module_imports_another_modules_private_names():
    known, wrong = project_modules(), []
    for package in PROJECT_PACKAGES:
        for path in source_files(package):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and resolved_imports(path, known, [node]):
                    wrong += [f"{module_name(path)}: {alias.name}" for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert not wrong, wrong
