"""Dropping capabilities to the spec's sets with prctl(PR_CAPBSET_DROP) and
capset(2), the same effect runc gets from libcap."""
from __future__ import annotations

from ..kernel import linux
from ..runspec.capabilities import CAPABILITY_NUMBERS


def last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return max(CAPABILITY_NUMBERS.values())


def mask(names: list[str]) -> int:
    value = 0
    for name in names:
        if name not in CAPABILITY_NUMBERS:
            raise ValueError(f"unknown capability {name!r}")
        value |= 1 << CAPABILITY_NUMBERS[name]
    return value


def drop_bounding(keep: int) -> None:
    """Remove every capability outside `keep` from the bounding set; after
    this even a setuid binary cannot regain them. Needs CAP_SETPCAP."""
    for number in range(last_capability() + 1):
        if not keep & (1 << number):
            try:
                linux.prctl(linux.PR_CAPBSET_DROP, number)
            except OSError:  # EINVAL: the kernel lacks that one
                pass


def apply(capabilities: dict) -> None:
    """Set effective/permitted/inheritable from a spec's
    `process.capabilities`; the caller has dropped the bounding set. What
    we do not hold ourselves (--cap-add ALL where pyreg itself runs
    without some) cannot be granted, and is left out."""
    held = linux.capget()[1]
    linux.capset(mask(capabilities.get("effective", [])) & held,
                 mask(capabilities.get("permitted", [])) & held,
                 mask(capabilities.get("inheritable", [])) & held)
