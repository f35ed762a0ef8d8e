"""docker's seccomp profile format, read for containers, as docker does it:
`oci_section(profile, capabilities)` turns a profile (the default one, or
`--security-opt seccomp=PROFILE.json`) into the OCI spec's `linux.seccomp`,
keeping only the rules that apply to this architecture, kernel and
capability set. runc and crun read that section too; for pyreg's own
runtime, container/seccomp_program.py compiles it and inside/seccomp.py
loads it.
"""
from __future__ import annotations

import os

from ..errors import RuntimeFailure
from ..kernel.arch import seccomp_arch

ACTIONS = {"SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000,
           "SCMP_ACT_KILL_PROCESS": 0x80000000, "SCMP_ACT_TRAP": 0x00030000,
           "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000,
           "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000}
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
_PROFILE_KEYS = {"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls"}
_RULE_KEYS = {"names", "name", "action", "args", "includes", "excludes", "errnoRet", "comment"}
_CONDITION_KEYS = {"caps", "arches", "minKernel"}


class SeccompError(RuntimeFailure):
    pass


def oci_section(profile: dict, capabilities: list[str]) -> dict:
    """docker's profile format -> the OCI `linux.seccomp` for these caps."""
    _check_keys(profile, _PROFILE_KEYS, "the seccomp profile")
    if profile.get("defaultAction") not in ACTIONS:
        raise SeccompError(f"seccomp profile: unsupported defaultAction {profile.get('defaultAction')!r}")
    arch, caps, kernel = seccomp_arch(), set(capabilities), _kernel_version()
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
