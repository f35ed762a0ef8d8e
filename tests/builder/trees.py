"""Describing a directory tree the way the build tests compare them: paths,
types, modes, owners, sizes, contents and link targets (not times)."""
import hashlib
import os
import stat


def describe(root) -> dict:
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            full = os.path.join(directory, name)
            info = os.lstat(full)
            relative = os.path.relpath(full, root)
            kind = stat.S_IFMT(info.st_mode)
            detail = None
            if stat.S_ISREG(info.st_mode):
                with open(full, "rb") as handle:
                    detail = hashlib.sha256(handle.read()).hexdigest()[:16]
            elif stat.S_ISLNK(info.st_mode):
                detail = os.readlink(full)
            elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                detail = (os.major(info.st_rdev), os.minor(info.st_rdev))
            found[relative] = (kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid,
                               info.st_size if stat.S_ISREG(info.st_mode) else 0, detail)
    return found
