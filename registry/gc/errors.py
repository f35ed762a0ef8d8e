"""Errors of garbage collection: one base, each a sentence for the command line."""
from __future__ import annotations


class GcError(Exception):
    """A collection could not run or had to stop; nothing referenced was removed."""


class GcBusy(GcError):
    """Another collection holds a live lease on this storage."""


class LeaseLost(GcError):
    """The sweep could not rewrite its state in time and stopped deleting."""
