"""registry/auth imports only downwards: each module only those listed
above it in the package docstring, and never the app, handlers or store."""
import ast
import re
from pathlib import Path

import registry.auth

PACKAGE = Path(registry.auth.__file__).parent
ORDER = re.findall(r"^    (\w+)\.py", registry.auth.__doc__, re.MULTILINE)


def relative_imports(path: Path) -> tuple[set[str], set[str]]:
    """(sibling modules, parent-package modules) a module imports."""
    siblings, parents = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            siblings.update([node.module] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and node.level == 2:
            parents.update([node.module.split(".")[0]] if node.module else
                           [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("registry."):
            parents.add(node.module.split(".")[1])
    return siblings, parents


def test_the_docstring_lists_every_module():
    assert sorted(ORDER) == sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def test_modules_import_only_what_is_listed_above_them():
    for position, name in enumerate(ORDER):
        siblings, parents = relative_imports(PACKAGE / f"{name}.py")
        assert siblings <= set(ORDER[:position]), (name, siblings - set(ORDER[:position]))
        assert parents <= {"certificates", "middlewares", "paths"}, (name, parents)
