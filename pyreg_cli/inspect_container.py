"""A container found by name or id prefix, inspected: what `pyreg inspect`
(images.py: a container of that name comes first) and `pyreg container
inspect` (starting.py) both show."""
from __future__ import annotations


def inspect_named(root: str, key: str) -> dict | None:
    """The container called key, inspected; None if there is none."""
    from runtime.container.inspect import inspect_container
    from runtime.container.state import ContainerError, ContainerStore
    store = ContainerStore(root)
    try:
        container = store.find(key)
    except ContainerError:
        return None
    return inspect_container(store, container)
