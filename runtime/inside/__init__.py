"""The inside-the-container side: what a container's processes do between
fork and exec (namespaces, mounts, pivot_root, capabilities, seccomp,
cgroups, the terminal, the sealed trampoline).

Nothing here, nor anything it imports, imports lazily: after pivot_root the
host's modules are out of reach. Nothing here imports the container side.
"""
