"""pyreg's own runtime: the container's processes are pyreg's (inside/),
held in the cgroups, the device cgroup and the seccomp filter prepared
here, before the start, so that a start fails before anything runs.

The seccomp filter is the OCI `linux.seccomp` section (runspec/seccomp.py)
compiled to BPF with libseccomp (Debian's libseccomp2, the library runc and
podman use, called through `_ctypes`), cached in `<root>/seccomp/` under
the hash of the section: compiling takes milliseconds, reading the cached
program microseconds. libseccomp is loaded only on a cache miss. Rules
follow runc: every name of a rule gets the rule's action; a rule's
argument conditions all hold at once (AND), unless two of them test the
same argument, in which case each one alone is enough (OR, as separate
rules). Names this libseccomp does not know are skipped, as runc does.
"""
from __future__ import annotations

import os

from .. import fastjson, paths
from ..digest import sha256_hex
from ..inside import devices, process
from ..inside.process import Confinement
from ..kernel import linux
from ..kernel.arch import require_supported, seccomp_arch
from ..runspec.seccomp import ACTIONS, OPERATORS, SeccompError

_LIMITS = {"memory", "cpu", "pids"}


class PyregRuntime:  # the Runtime protocol (runtimes.py)
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
                             after_fork=on_fork, explain=self.explain,
                             before_fork=getattr(prepared.attachment, "before_fork", None))

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
        # a container in a user namespace of its own: joined first, so the
        # process runs as the container's root, never as the host's
        in_userns = any(n.get("type") == "user" for n in spec["linux"]["namespaces"])
        rootless = bool((container.rootfs or {}).get("rootless")) or in_userns
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
    program = seccomp_program(root, section) if section is not None else None
    return Confinement(device_group=group, seccomp=program)


def _make_cgroups(container_id: str, resources: dict):
    from ..inside.cgroups import CgroupError, Cgroups  # only for containers with limits
    if os.geteuid() != 0:
        raise CgroupError("--memory, --cpus and --pids-limit need root (rootless "
                          "containers get no cgroups)")
    cgroups = Cgroups.for_container(container_id)
    cgroups.create(resources)
    return cgroups


_ARCH_NAMES = {"SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
               "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
               "SCMP_ARCH_S390X": "s390x", "SCMP_ARCH_PPC64LE": "ppc64le",
               "SCMP_ARCH_RISCV64": "riscv64"}
_EEXIST = 17
_NR_SCMP_ERROR = -1


def seccomp_program(root: str, section: dict) -> bytes:
    """The section's BPF program (struct sock_filter[]), from the cache or
    compiled now and cached; the cache file appears whole or not at all."""
    text = fastjson.dumps(section)
    path = paths.seccomp_program(root, sha256_hex(f"{seccomp_arch()}\n{text}".encode()))
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "wb") as handle:
        compile_to(section, handle.fileno())
    with open(temp, "rb") as handle:
        data = handle.read()
    os.replace(temp, path)
    return data


def _open_libseccomp() -> linux.Library:
    try:
        return linux.Library("libseccomp.so.2")
    except OSError:
        pass
    from ctypes.util import find_library  # another soname: ask the system (slow, rare)
    found = find_library("seccomp")
    if found is None:
        raise SeccompError("libseccomp is not installed (apt-get install libseccomp2), "
                           "or run with --security-opt seccomp=unconfined")
    return linux.Library(found)


class _Libseccomp:
    def __init__(self):
        library = _open_libseccomp()
        p, u, i = linux.POINTER, linux.UINT, linux.INT
        self.init = library.function("seccomp_init", (u,), restype=p)
        self.release = library.function("seccomp_release", (p,), restype=i)
        self.arch_resolve = library.function("seccomp_arch_resolve_name", (linux.CHARS,), restype=u)
        self.arch_add = library.function("seccomp_arch_add", (p, u), restype=i)
        self.resolve = library.function("seccomp_syscall_resolve_name", (linux.CHARS,), restype=i)
        self.rule_add = library.function("seccomp_rule_add_array", (p, u, i, u, p), restype=i)
        self.export_bpf = library.function("seccomp_export_bpf", (p, i), restype=i)


def action_value(name: str, errno_ret: int | None, default_errno: int = 1) -> int:
    value = ACTIONS[name]
    if name == "SCMP_ACT_ERRNO":
        value |= (default_errno if errno_ret is None else errno_ret) & 0xFFFF
    return value


def compile_to(section: dict, fd: int) -> None:
    """Write the section's BPF program to fd."""
    lib = _Libseccomp()
    default_errno = section.get("defaultErrnoRet", 1)
    default = action_value(section["defaultAction"], None, default_errno)
    context = lib.init(default)
    if not context:
        raise SeccompError("seccomp_init failed")
    try:
        for arch in section.get("architectures") or []:
            token = lib.arch_resolve(_ARCH_NAMES.get(arch, arch.lower()).encode())
            result = lib.arch_add(context, token) if token else -1
            if result < 0 and -result != _EEXIST:
                raise SeccompError(f"seccomp: cannot add architecture {arch}")
        for rule in section.get("syscalls") or []:
            action = action_value(rule["action"], rule.get("errnoRet"), default_errno)
            if action == default:
                continue  # libseccomp refuses a rule that changes nothing
            for name in rule["names"]:
                _add(lib, context, action, name, rule.get("args") or [])
        if lib.export_bpf(context, fd) < 0:
            raise SeccompError("seccomp: cannot export the BPF program")
    finally:
        lib.release(context)


def _add(lib, context, action: int, name: str, args: list[dict]) -> None:
    number = lib.resolve(name.encode())
    if number == _NR_SCMP_ERROR:
        return
    indexes = [a["index"] for a in args]
    groups = [args] if len(set(indexes)) == len(indexes) else [[a] for a in args]
    for group in groups:
        conditions = bytearray()
        for arg in group:
            conditions += (arg["index"].to_bytes(4, "little")
                           + OPERATORS[arg["op"]].to_bytes(4, "little")
                           + (arg["value"] & (2**64 - 1)).to_bytes(8, "little")
                           + (arg.get("valueTwo", 0) & (2**64 - 1)).to_bytes(8, "little"))
        array = linux.buffer(conditions) if conditions else None
        result = lib.rule_add(context, action, number, len(group), array)
        if result < 0:
            raise SeccompError(f"seccomp: cannot add the rule for {name} (error {-result})")
