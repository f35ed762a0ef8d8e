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
ACYCLIC_PACKAGES = ["puller"]


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


def package_imports(path: Path, package: str) -> set[str]:
    """The modules of `package` that a file imports (at any depth, lazily or
    not: a lazy import still ties the two files together), as dotted names."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name == "__init__.py":
        module = module.rsplit(".", 1)[0] + ".__init__"
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = module.rsplit(".", node.level)[0] + "." if node.level else ""
            target = base + (node.module or "")
            names.add(target.rstrip("."))
            names.update(f"{target}.{alias.name}" for alias in node.names)
    known = {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in source_files(package)}
    return {name for name in names if name in known and not name.endswith("__init__")}


@pytest.mark.parametrize("package", ACYCLIC_PACKAGES)
def test_imports_inside_a_package_have_no_circles(package):
    graph = {".".join(p.relative_to(ROOT).with_suffix("").parts): package_imports(p, package)
             for p in source_files(package)}
    done, path = set(), []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if circle := visit(imported):
                return circle
        path.pop()
        done.add(module)
        return None

    circles = [c for c in map(visit, sorted(graph)) if c]
    assert not circles, " -> ".join(circles[0])
