"""`pyreg run`: containers from the local store, in wings that import only
downward (tests/test_dependencies.py keeps it so):

    container/   state, lifecycle, run, shim, exec, bundle, terminal relay, runtimes
       |     \\
    inside/   image/    what runs in the container's processes | image resolution,
       |   \\    |      snapshot cache, layer streams, unpack
    spec/    fs/        the pure build_spec, users | files beneath a directory, rootfs
       \\    /
      kernel/           the Linux calls, numbers per architecture

Beside them, shared leaves: errors.py (the base of every runtime failure),
paths.py (the data root's tree), record.py, fastjson.py, digest.py.
"""
