"""The container side: containers on disk and their lifecycle, from
`prepare` to the recorded exit code; the supervisors (attached, the
detached shim, the terminal relay), exec and bundles."""
