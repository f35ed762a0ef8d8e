"""Compiling an OCI `linux.seccomp` section to BPF with libseccomp (Debian's
libseccomp2, the library runc and podman use), called through `_ctypes`,
and the vocabulary of actions and operators both sides use. libseccomp is
loaded only on a cache miss in `seccomp.program`.

Rules follow runc: every name of a rule gets the rule's action; a rule's
argument conditions all hold at once (AND), unless two of them test the
same argument, in which case each one alone is enough (OR, as separate
rules). Names this libseccomp does not know are skipped, as runc does.
"""
from __future__ import annotations

from ..kernel import linux

ACTIONS = {"SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000,
           "SCMP_ACT_KILL_PROCESS": 0x80000000, "SCMP_ACT_TRAP": 0x00030000,
           "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000,
           "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000}
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}

_ARCH_NAMES = {"SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
               "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
               "SCMP_ARCH_S390X": "s390x", "SCMP_ARCH_PPC64LE": "ppc64le",
               "SCMP_ARCH_RISCV64": "riscv64"}
_EEXIST = 17


class SeccompError(Exception):
    pass
_NR_SCMP_ERROR = -1


class _Libseccomp:
    def __init__(self):
        try:
            library = linux.Library("libseccomp.so.2", "seccomp")
        except OSError:
            raise SeccompError("libseccomp is not installed (apt-get install libseccomp2), "
                               "or run with --security-opt seccomp=unconfined") from None
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
