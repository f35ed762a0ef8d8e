"""Modules loaded on first use. aiohttp takes a large share of a short pull's
time just to import (it builds two verified TLS contexts at import time),
and a plain pull or push against an unauthenticated registry never needs it:
the fast paths speak HTTP/1.1 themselves. Modules that fall back to aiohttp
name it through `lazy_module`, so it loads only when a fallback happens."""
from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType

_lock = threading.Lock()


def lazy_module(name: str) -> ModuleType:
    """`name` as a module whose code runs at the first attribute access
    (importlib's LazyLoader); the real module when it is already loaded."""
    with _lock:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ImportError(f"no module named {name!r}")
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        return module
