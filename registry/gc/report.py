"""What a collection removed (or, dry, would remove), and the bytes freed."""
from __future__ import annotations

from dataclasses import dataclass, field

from .plan import Doomed

KINDS = ("blob", "manifest", "layer link", "upload")


@dataclass
class GcReport:
    dry_run: bool
    delete_untagged: bool
    grace: float
    removed: list[Doomed] = field(default_factory=list)
    spared: list[Doomed] = field(default_factory=list)  # relied on while the sweep ran
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def bytes_freed(self) -> int:
        return sum(item.size for item in self.removed)

    def count(self, kind: str) -> int:
        return sum(1 for item in self.removed if item.kind == kind)

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        counts = ", ".join(f"{self.count(kind)} {kind}s" for kind in KINDS)
        spared = f"; {len(self.spared)} spared as in use" if self.spared else ""
        return f"gc {verb} {counts}, {self.bytes_freed} bytes{spared} in {self.seconds:.2f}s"

    def to_dict(self) -> dict:
        def entry(item: Doomed) -> dict:
            found = {"kind": item.kind, "name": item.name, "size": item.size}
            if item.repository is not None:
                found["repository"] = item.repository
            return found
        return {"dryRun": self.dry_run, "deleteUntagged": self.delete_untagged,
                "graceSeconds": self.grace, "bytesFreed": self.bytes_freed,
                "counts": {kind: self.count(kind) for kind in KINDS},
                "removed": [entry(item) for item in self.removed],
                "spared": [entry(item) for item in self.spared],
                "warnings": list(self.warnings), "seconds": round(self.seconds, 3)}
