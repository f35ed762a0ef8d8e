"""pyreg's own runtime: the container's processes are pyreg's (inside/),
held in the cgroups, the device cgroup and the seccomp filter prepared
here, before the start, so that a start fails before anything runs.
"""
from __future__ import annotations

import os

from ..inside import devices, process
from ..inside.process import Confinement
from ..kernel.arch import require_supported
from . import seccomp_program
from .protocol import Runtime

_LIMITS = {"memory", "cpu", "pids"}


class PyregRuntime(Runtime):
    name = "pyreg"

    def __init__(self, debug: bool = False):
        self.explain = None  # with --debug, a failed start's report carries a traceback
        if debug:
            import traceback  # loaded by the parent: the child cannot import it
            self.explain = traceback.format_exc

    def prepare(self, root: str, container, spec: dict) -> Confinement:
        require_supported()
        confinement = confinement_for(root, spec)
        resources = spec["linux"]["resources"]
        if set(resources) & _LIMITS:  # no limit: no cgroup to make and remove
            cgroups = _make_cgroups(container.id, resources)
            container.cgroups = list(cgroups.paths)
            confinement = confinement.replace(cgroups=cgroups)
        return confinement

    def start(self, prepared, stdio, init: bool, on_fork) -> int:
        return process.start(prepared.spec, prepared.plan, stdio, prepared.confinement, init,
                             after_fork=on_fork, explain=self.explain)

    def signal(self, container, signum: int) -> None:
        try:
            os.kill(container.pid, signum)
        except ProcessLookupError:
            pass

    def exec(self, root: str, container, spec: dict, process_section: dict, stdio) -> int:
        confinement = confinement_for(root, spec)
        if container.cgroups:
            from ..inside.cgroups import Cgroups
            confinement = confinement.replace(cgroups=Cgroups(tuple(container.cgroups), False))
        rootless = bool((container.rootfs or {}).get("rootless"))
        return process.join(container.pid, rootless, process_section, stdio, confinement,
                            self.explain)

    def clean_up(self, container) -> None:
        if not container.cgroups:
            return
        from ..inside.cgroups import Cgroups
        cgroups = Cgroups.for_container(container.id)  # the groups prepare made
        container.oom_killed = container.oom_killed or cgroups.oom_killed()
        cgroups.remove_when_empty()


def confinement_for(root: str, spec: dict) -> Confinement:
    """The device cgroup and seccomp program the spec asks for. Devices are
    kept out at mount level (mounts.populate_dev), which costs no cgroup
    join (about 15 ms here: a v1 migration waits for an RCU grace period);
    a container with CAP_SYS_ADMIN could mount a filesystem without nodev,
    so only it joins the device cgroup too."""
    group = None
    if os.geteuid() == 0 and "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]:
        if not devices.controller_available():
            raise devices.DeviceError("CAP_SYS_ADMIN needs the cgroup v1 devices controller, "
                                      "which this host lacks: the container could open any device")
        group = devices.device_group(spec["linux"]["resources"]["devices"])
    section = spec["linux"].get("seccomp")
    program = seccomp_program.program(root, section) if section is not None else None
    return Confinement(device_group=group, seccomp=program)


def _make_cgroups(container_id: str, resources: dict):
    from ..inside.cgroups import CgroupError, Cgroups  # only for containers with limits
    if os.geteuid() != 0:
        raise CgroupError("--memory, --cpus and --pids-limit need root (rootless "
                          "containers get no cgroups)")
    cgroups = Cgroups.for_container(container_id)
    cgroups.create(resources)
    return cgroups
