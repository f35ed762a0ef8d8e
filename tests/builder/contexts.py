"""Small build contexts made on disk for the builder's tests."""
import os
from pathlib import Path


def make_tree(root: Path, spec: dict) -> Path:
    """`spec` maps relative paths to bytes (a file), None (a directory) or
    ("link", target) (a symlink)."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, content in spec.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(exist_ok=True)
        elif isinstance(content, tuple):
            os.symlink(content[1], path)
        else:
            path.write_bytes(content)
    return root
