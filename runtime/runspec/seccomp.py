"""docker's seccomp profile format, read for containers, as docker does it:
`oci_section(profile, capabilities)` turns a profile (pyreg's default one,
`default_profile()`, or `--security-opt seccomp=PROFILE.json`) into the
OCI spec's `linux.seccomp`, keeping only the rules that apply to this
architecture, kernel and capability set. runc and crun read that section
too; for pyreg's own runtime, container/pyreg_runtime.py compiles it and
inside/privileges.py loads it.
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


# pyreg's default profile: the same policy docker and podman ship (a
# deny-by-default allow-list, refused calls fail with EPERM), written as a
# table of our own and turned into docker's profile format by
# `default_profile()`.
#
# Each row is (names, condition). A condition says when the row applies:
# `None` always; `("cap", "CAP_X")` only when the container holds CAP_X;
# `("nocap", "CAP_X")` only when it does not; `("arch", ...)` only on those
# architectures. Everything absent is refused: add_key, keyctl, request_key,
# bpf and perf_event_open (without CAP_BPF/CAP_PERFMON or CAP_SYS_ADMIN),
# kexec_*, open_by_handle_at (without CAP_DAC_READ_SEARCH), mount, umount,
# unshare and setns (without CAP_SYS_ADMIN), *_module, reboot, swapon,
# acct, iopl/ioperm, the NUMA calls, userfaultfd, io_uring, and the rest.
EPERM, ENOSYS = 1, 38
AF_VSOCK = 40
# clone(2) flags that make namespaces: refused without CAP_SYS_ADMIN
NAMESPACE_FLAGS = 0x7E020000

_ALWAYS = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown
chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr
flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64
fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv
futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp
getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid
gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1
inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat
mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget
msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat
_newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc
pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64
process_mrelease pselect6 pselect6_time64 ptrace pwrite64 pwritev pwritev2 read readahead
readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction
rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4
sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx
symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times
tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
"""

# (names, condition): calls allowed only under a condition
_CONDITIONAL = (
    ("arch_prctl modify_ldt", ("arch", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_X86")),
    ("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
     ("arch", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64")),
    ("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr", ("arch", "SCMP_ARCH_S390X")),
    ("riscv_flush_icache", ("arch", "SCMP_ARCH_RISCV64")),
    ("open_by_handle_at", ("cap", "CAP_DAC_READ_SEARCH")),
    ("bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
     "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
     "sethostname setns syslog umount umount2 unshare", ("cap", "CAP_SYS_ADMIN")),
    ("reboot", ("cap", "CAP_SYS_BOOT")),
    ("chroot", ("cap", "CAP_SYS_CHROOT")),
    ("delete_module init_module finit_module", ("cap", "CAP_SYS_MODULE")),
    ("acct", ("cap", "CAP_SYS_PACCT")),
    ("kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev",
     ("cap", "CAP_SYS_PTRACE")),
    ("iopl ioperm", ("cap", "CAP_SYS_RAWIO")),
    ("settimeofday stime clock_settime clock_settime64", ("cap", "CAP_SYS_TIME")),
    ("vhangup", ("cap", "CAP_SYS_TTY_CONFIG")),
    ("get_mempolicy mbind set_mempolicy set_mempolicy_home_node", ("cap", "CAP_SYS_NICE")),
    ("syslog", ("cap", "CAP_SYSLOG")),
    ("bpf", ("cap", "CAP_BPF")),
    ("perf_event_open", ("cap", "CAP_PERFMON")),
)


def _row(names: str, condition=None, **extra) -> dict:
    row = {"names": names.split(), "action": "SCMP_ACT_ALLOW", **extra}
    if condition is not None:
        kind, *values = condition
        key = {"cap": "includes", "nocap": "excludes", "arch": "includes"}[kind]
        row[key] = {"arches" if kind == "arch" else "caps": values}
    return row


def default_profile() -> dict:
    """The default profile in docker's format (what `seccomp=PROFILE.json` takes)."""
    rows = [_row(_ALWAYS)]
    # personality(2): only the execution domains programs ask for in practice
    rows += [_row("personality", args=[{"index": 0, "value": v, "op": "SCMP_CMP_EQ"}])
             for v in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)]
    rows.append(_row("socket", args=[{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}]))
    rows += [_row(names, condition) for names, condition in _CONDITIONAL]
    # clone without namespace flags for everyone; clone3's flags live in memory
    # seccomp cannot read, so it fails with ENOSYS and libc falls back to clone
    rows.append(_row("clone", ("nocap", "CAP_SYS_ADMIN"), args=[
        {"index": 0, "value": NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]))
    rows.append(dict(_row("clone3", ("nocap", "CAP_SYS_ADMIN")), action="SCMP_ACT_ERRNO",
                     errnoRet=ENOSYS))
    return {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": EPERM,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
        ],
        "syscalls": rows,
    }


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
