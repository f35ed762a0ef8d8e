"""The Runtime protocol (runtime/container/runtimes.py): both runtimes
provide all of it, with the same parameters, and are picked by name."""
import inspect

import pytest

from runtime.container import runtimes
from runtime.container.pyreg_runtime import PyregRuntime
from runtime.container.runc import RuncRuntime
from runtime.container.state import ContainerError

METHODS = [name for name, _ in inspect.getmembers(runtimes.Runtime, inspect.isfunction)]


@pytest.mark.parametrize("implementation", [PyregRuntime, RuncRuntime])
def test_each_runtime_provides_the_whole_protocol(implementation):
    assert set(METHODS) == {"prepare", "start", "signal", "exec", "clean_up"}
    for name in METHODS:
        ours = inspect.signature(getattr(implementation, name))
        assert list(ours.parameters) == list(inspect.signature(getattr(runtimes.Runtime, name)).parameters), name


def test_runtimes_by_name():
    assert isinstance(runtimes.named("pyreg"), PyregRuntime)
    for name in ("runc", "crun"):
        runtime = runtimes.named(name)
        assert isinstance(runtime, RuncRuntime) and runtime.name == name
    assert {runtimes.named(name).name for name in runtimes.NAMES} == set(runtimes.NAMES)


def test_exec_into_a_runc_container_says_what_to_use_instead():
    with pytest.raises(ContainerError, match="exec into crun containers: use `crun exec`"):
        runtimes.named("crun").exec("/root", None, {}, {}, None)
