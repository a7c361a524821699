"""The fault ledger: what was injected, what the driver saw, and the end state, in one printable record."""

from __future__ import annotations

import collections
import dataclasses
import threading


@dataclasses.dataclass
class Ledger:
    """Counts kept by the injectors and the driver; thread-safe, since two batches may run at once."""

    seed: int
    faults: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    outcomes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    events: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    end: dict[str, object] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def fault(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.faults[kind] += n

    def outcome(self, kind: str) -> None:
        with self._lock:
            self.outcomes[kind] += 1

    def event(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.events[kind] += n

    def render(self) -> str:
        """The ledger as aligned text, for `pytest -s` and for assertion messages."""
        lines = [f"fault ledger (seed {self.seed}; replay: JOBLINE_FAULT_SEED={self.seed})"]
        for title, table in (
            ("end state", self.end),
            ("faults injected", dict(sorted(self.faults.items()))),
            ("record outcomes", dict(sorted(self.outcomes.items()))),
            ("driver", dict(sorted(self.events.items()))),
        ):
            lines.append(f"  {title}:")
            lines.extend(f"    {name:<34} {value}" for name, value in table.items())
        return "\n".join(lines)
