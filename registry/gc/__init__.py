"""Online garbage collection and storage usage (see run.py, guard.py, usage.py)."""
from .errors import GcBusy, GcError, LeaseLost
from .freshness import Timing
from .guard import Hold, SweepGuard
from .report import GcReport
from .run import collect, run_gc
from .usage import storage_usage

__all__ = ["GcBusy", "GcError", "GcReport", "Hold", "LeaseLost", "SweepGuard", "Timing",
           "collect", "run_gc", "storage_usage"]
