"""The Linux system calls Python 3.11's os module lacks, through libc:
unshare, setns, mount, umount2, pivot_root, sethostname, prctl, capset, and
the socket + ioctl that bring up loopback.

The binding uses `_ctypes`, the C half of ctypes, directly: the `ctypes`
package defines dozens of types at import, two milliseconds of every
`pyreg run`, and these calls need five. Each wrapper raises OSError with
errno, like the os module does, so callers handle failures the same way
whatever the call.
"""
from __future__ import annotations

import os
import sys

import _ctypes

from .arch import syscall_number


class _Int(_ctypes._SimpleCData):
    _type_ = "i"


class _ULong(_ctypes._SimpleCData):
    _type_ = "L"


class _UInt(_ctypes._SimpleCData):
    _type_ = "I"


class _Long(_ctypes._SimpleCData):
    _type_ = "l"


class _CharPointer(_ctypes._SimpleCData):
    _type_ = "z"  # bytes, or None for NULL


class _Char(_ctypes._SimpleCData):
    _type_ = "c"


class _LibcFunction(_ctypes.CFuncPtr):
    """A C function returning int that keeps errno for _ctypes.get_errno()."""
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _Int


class _VoidPointer(_ctypes._SimpleCData):
    _type_ = "P"  # an address, as an int (None for NULL)


class Library:
    """What CFuncPtr needs of a library: its dlopen handle. Opened by soname,
    which needs no ldconfig subprocess; `None` names the interpreter's own
    symbols, which include the libc it was linked with."""

    def __init__(self, soname: str | None):
        self._handle = _ctypes.dlopen(soname, os.RTLD_NOW)

    def function(self, name: str, argtypes: tuple | None = None, restype=None) -> _LibcFunction:
        function = _LibcFunction((name, self))
        if argtypes is not None:  # ctypes then converts plain ints and bytes in C
            function.argtypes = argtypes
        if restype is not None:
            function.restype = restype
        return function


def _open_libc() -> Library:
    try:
        return Library("libc.so.6")  # glibc
    except OSError:  # another libc: the one the interpreter runs on
        return Library(None)


def buffer(data: bytearray):
    """A C char array sharing data's memory, for calls that write into it."""
    array_type = type("_Bytes", (_ctypes.Array,), {"_type_": _Char, "_length_": len(data)})
    return array_type.from_buffer(data)


_libc = _open_libc()
_C, _INT, _ULONG = _CharPointer, _Int, _ULong
INT, UINT, POINTER, LONG, CHARS = _Int, _UInt, _VoidPointer, _Long, _CharPointer
_unshare = _libc.function("unshare", (_INT,))
_setns = _libc.function("setns", (_INT, _INT))
_mount = _libc.function("mount", (_C, _C, _C, _ULONG, _C))
_umount2 = _libc.function("umount2", (_C, _INT))
_sethostname = _libc.function("sethostname", (_C, _ULONG))
_prctl = _libc.function("prctl", (_INT, _ULONG, _ULONG, _ULONG, _ULONG))
_socket = _libc.function("socket", (_INT, _INT, _INT))
_fcntl = _libc.function("fcntl", (_INT, _INT, _INT))
_ioctl = _libc.function("ioctl")  # variadic: arguments passed as typed values
_syscall = _libc.function("syscall", restype=_Long)  # variadic, too

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

# the capabilities by name, in the kernel's numbering
CAPABILITY_NUMBERS = {name: number for number, name in enumerate((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"))}



def _check(result: int, what: str, path: str | None = None) -> int:
    """Raise the OSError subclass for errno (FileNotFoundError...), its
    strerror naming the call (errors.describe shows it as one line)."""
    if result < 0:
        err = _ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _bytes(value: str | bytes | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return os.fsencode(value)


def unshare(flags: int) -> None:
    _check(_unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_setns(fd, nstype), "setns")


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0,
          data: str | None = None) -> None:
    result = _mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data))
    _check(result, f"mount {fstype or ''} {source or ''} on {target}".replace("  ", " "), target)


def umount(target: str, flags: int = 0) -> None:
    _check(_umount2(_bytes(target), flags), "umount", target)


def syscall(number: int, *args, what: str = "syscall") -> int:
    """A raw system call; ints pass as C longs, bytes as C strings and
    bytearrays as pointers to their memory."""
    converted = [buffer(a) if isinstance(a, bytearray) else _CharPointer(a) if isinstance(a, bytes)
                 else _Long(a) for a in args]
    return _check(_syscall(_Long(number), *converted), what)


def pivot_root(new_root: str, put_old: str) -> None:
    result = _syscall(_Long(syscall_number("pivot_root")), _bytes(new_root), _bytes(put_old))
    _check(result, "pivot_root", new_root)


SOCK_CLOEXEC = 0o2000000


def socket(domain: int, kind: int) -> int:
    """A socket as a plain fd (close it with os.close)."""
    return _check(_socket(domain, kind | SOCK_CLOEXEC, 0), "socket")


def ioctl(fd: int, request: int, data: bytearray) -> None:
    """An ioctl reading and writing `data` in place."""
    _check(_ioctl(_Int(fd), _ULong(request), buffer(data)), "ioctl")


def fcntl(fd: int, command: int, argument: int = 0) -> int:
    return _check(_fcntl(fd, command, argument), "fcntl")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_sethostname(raw, len(raw)), "sethostname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_prctl(option, arg2, arg3, arg4, arg5), "prctl")


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def capget() -> tuple[int, int, int]:
    """This thread's (effective, permitted, inheritable) sets as 64-bit masks."""
    header = bytearray(_LINUX_CAPABILITY_VERSION_3.to_bytes(4, sys.byteorder) + bytes(4))
    data = bytearray(24)
    _check(_syscall(_Long(syscall_number("capget")), buffer(header), buffer(data)), "capget")
    words = [int.from_bytes(data[i:i + 4], sys.byteorder) for i in range(0, 24, 4)]
    return tuple(words[i] | words[i + 3] << 32 for i in range(3))


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set this thread's capability sets (64-bit masks): a header (version,
    pid 0: this thread), then two halves of three 32-bit sets each."""
    header = bytearray(_LINUX_CAPABILITY_VERSION_3.to_bytes(4, sys.byteorder) + bytes(4))
    data = bytearray()
    for shift in (0, 32):
        for value in (effective, permitted, inheritable):
            data += ((value >> shift) & 0xFFFFFFFF).to_bytes(4, sys.byteorder)
    result = _syscall(_Long(syscall_number("capset")), buffer(header), buffer(data))
    _check(result, "capset")


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of pid (clock ticks since boot, from
    /proc/<pid>/stat), or None if it is gone or a zombie: with the pid, it
    names one process, never a later one that reuses the number."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    if fields[0] == b"Z":
        return None  # a zombie has finished running
    return int(fields[19])
