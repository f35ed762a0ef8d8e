"""Seccomp for containers, as docker does it, in three steps:

1. `oci_section(profile, capabilities)`: a profile in docker's format (the
   default one, or `--security-opt seccomp=PROFILE.json`) becomes the OCI
   spec's `linux.seccomp`, keeping only the rules that apply to this
   architecture and capability set. runc and crun read that section too.
2. `program(root, section)`: the section compiled to a BPF program with
   libseccomp (through `_ctypes`), cached in `<root>/seccomp/` under the
   hash of the section: compiling takes milliseconds, reading the cached
   program microseconds.
3. `load(program)`: seccomp(2) with the program, the last thing a
   container's process does before it execs (no_new_privs is already set).
"""
from __future__ import annotations

import os

import _ctypes

from .. import fastjson
from ..digest import sha256_hex
from ..kernel import linux
from .seccomp_compile import ACTIONS, OPERATORS, SeccompError, compile_to

NATIVE_ARCHES = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64",
                 "armv7l": "SCMP_ARCH_ARM", "s390x": "SCMP_ARCH_S390X",
                 "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64"}
_PROFILE_KEYS = {"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls"}
_RULE_KEYS = {"names", "name", "action", "args", "includes", "excludes", "errnoRet", "comment"}
_CONDITION_KEYS = {"caps", "arches", "minKernel"}
SYS_SECCOMP = 317  # x86_64
SECCOMP_SET_MODE_FILTER = 1


def native_arch() -> str:
    machine = os.uname().machine
    if machine not in NATIVE_ARCHES:
        raise SeccompError(f"no seccomp architecture known for {machine}")
    return NATIVE_ARCHES[machine]


def oci_section(profile: dict, capabilities: list[str]) -> dict:
    """docker's profile format -> the OCI `linux.seccomp` for these caps."""
    _check_keys(profile, _PROFILE_KEYS, "the seccomp profile")
    if profile.get("defaultAction") not in ACTIONS:
        raise SeccompError(f"seccomp profile: unsupported defaultAction {profile.get('defaultAction')!r}")
    arch, caps, kernel = native_arch(), set(capabilities), _kernel_version()
    section = {"defaultAction": profile["defaultAction"], "architectures": _arches(profile, arch),
               "syscalls": []}
    if "defaultErrnoRet" in profile:
        section["defaultErrnoRet"] = profile["defaultErrnoRet"]
    for rule in profile.get("syscalls") or []:
        _check_keys(rule, _RULE_KEYS, "a seccomp rule")
        if not _applies(rule, arch, caps, kernel):
            continue
        if rule.get("action") not in ACTIONS:
            raise SeccompError(f"seccomp profile: unsupported action {rule.get('action')!r}")
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        entry = {"names": list(names), "action": rule["action"]}
        if rule.get("args"):
            entry["args"] = [_argument(a) for a in rule["args"]]
        if "errnoRet" in rule:
            entry["errnoRet"] = rule["errnoRet"]
        section["syscalls"].append(entry)
    return section


def _check_keys(data, known: set[str], what: str) -> None:
    if not isinstance(data, dict):
        raise SeccompError(f"{what} must be a JSON object")
    unknown = sorted(set(data) - known)
    if unknown:
        raise SeccompError(f"{what}: pyreg does not implement {', '.join(unknown)}")


def _arches(profile: dict, native: str) -> list[str]:
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:
            return [native, *entry.get("subArchitectures", [])]
    return list(profile.get("architectures") or [native])


def _applies(rule: dict, arch: str, caps: set[str], kernel: tuple[int, ...]) -> bool:
    includes, excludes = rule.get("includes") or {}, rule.get("excludes") or {}
    for condition in (includes, excludes):
        _check_keys(condition, _CONDITION_KEYS, "a seccomp rule's includes/excludes")
    if includes.get("arches") and arch not in includes["arches"]:
        return False
    if not caps.issuperset(includes.get("caps") or ()):
        return False
    if includes.get("minKernel") and kernel < _version(includes["minKernel"]):
        return False
    if arch in (excludes.get("arches") or ()) or caps & set(excludes.get("caps") or ()):
        return False
    return not (excludes.get("minKernel") and kernel >= _version(excludes["minKernel"]))


def _argument(arg: dict) -> dict:
    if arg.get("op") not in OPERATORS:
        raise SeccompError(f"seccomp profile: unsupported operator {arg.get('op')!r}")
    return {"index": int(arg["index"]), "value": int(arg.get("value", 0)),
            "valueTwo": int(arg.get("valueTwo", 0)), "op": arg["op"]}


def _version(text: str) -> tuple[int, ...]:
    numbers = []
    for part in text.split("-")[0].split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        numbers.append(int(digits or 0))
    return tuple(numbers)


def _kernel_version() -> tuple[int, ...]:
    return _version(os.uname().release)


def program(root: str, section: dict) -> bytes:
    """The section's BPF program (struct sock_filter[]), from the cache or
    compiled now and cached; the cache file appears whole or not at all."""
    text = fastjson.dumps(section)
    key = sha256_hex(f"{native_arch()}\n{text}".encode())
    path = os.path.join(root, "seccomp", f"{key}.bpf")
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


def load(bpf: bytes) -> None:
    """Install the filter on this thread; every exec after inherits it."""
    instructions = len(bpf) // 8
    if not instructions or instructions > 0xFFFF or len(bpf) % 8:
        raise SeccompError("invalid seccomp program")
    filters = linux.buffer(bytearray(bpf))
    header = bytearray(instructions.to_bytes(2, "little") + bytes(6)
                       + _ctypes.addressof(filters).to_bytes(8, "little"))
    linux.syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, 0, header, what="seccomp")
