"""The suite's outcome: counts worth printing, the violations, and a JSON form of both."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from faults.checks import Violation


@dataclass
class Report:
    options: dict[str, Any]
    counts: dict[str, Any] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    chaos_timeline: list[tuple[float, str, float]] = field(default_factory=list)
    data_dir: str = ""
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "wall_seconds": round(self.wall_seconds, 1),
            "options": self.options,
            "counts": self.counts,
            "violations": [asdict(violation) for violation in self.violations],
            "chaos_timeline": [
                {"at_seconds": round(at, 1), "what": what, "took_seconds": round(took, 1)}
                for at, what, took in self.chaos_timeline
            ],
            "data_dir": self.data_dir,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")

    def print(self, out: IO[str], *, max_violations: int = 200) -> None:
        write = out.write
        write("\nSessionflow fault-injection suite\n")
        write("─" * 72 + "\n")
        for section, values in self.counts.items():
            label = section.replace("_", " ")
            if isinstance(values, dict):
                rendered = (
                    ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in values.items()) or "none"
                )
                write(f"  {label:<28} {rendered}\n")
            else:
                write(f"  {label:<28} {values}\n")
        write(f"  {'wall time':<28} {self.wall_seconds:.0f} s\n")
        write("─" * 72 + "\n")
        if self.ok:
            write("  no violations\n")
        else:
            write(f"  {len(self.violations)} VIOLATIONS\n")
            for violation in self.violations[:max_violations]:
                write(f"    {violation.session_id}: {violation.reason}\n")
            if len(self.violations) > max_violations:
                write(f"    … and {len(self.violations) - max_violations} more (see the JSON report)\n")
        out.flush()
