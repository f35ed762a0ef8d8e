"""The one base of every error `registry.auth` raises.

Input and configuration problems (a malformed scope, token, key bundle,
robot or file) are also ValueErrors; outcomes of a check (wrong
credentials, a refused token, throttling) are only AuthErrors. None of
them reaches a client as a traceback: the controllers turn them into
401/403/429 answers, and setup.py into one line for the operator.
"""
from __future__ import annotations


class AuthError(Exception):
    """Something registry.auth refused or could not use."""
