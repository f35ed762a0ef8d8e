"""`pyreg run`: containers from the local store, in wings; a wing imports
only the wings on the floors below it (tests/test_dependencies.py keeps it so):

    container/   state, run, lifecycle, shim, exec, bundle, terminal relay, the runtimes
    inside/      a container's processes, fork to exec  |  image/  a name -> verified snapshots
    volumes/     named volumes, filled from the image on first use
    runspec/     the pure build_spec, users             |  fs/     beneath a directory, rootfs
    kernel/      the Linux calls, numbers per architecture

Under them all, shared leaves: errors.py (the base of every runtime failure),
paths.py (the data root's tree), record.py, fastjson.py, digest.py.
"""
