"""Faults the emulator can inject, each a thing AWS really does to a pipeline.

``--fault KIND:GLOB[:N]`` (repeatable). GLOB is matched against the file name
and against the whole key; N is how many times the fault fires per matching
file (default 1). Each fault is consumed where it happens in AWS: duplicate and
malformed events at EventBridge, throttles and crashes at the Glue start,
failed and timed-out runs inside Glue, lost completions between Glue and
EventBridge, deletions in S3. The promise under test is the same for all of
them: every file ends SUCCEEDED or DEAD with its reason, no file succeeds
twice, and each group's order holds.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import Counter
from dataclasses import dataclass, field

from landing_pipeline.runtime.errors import InputError

KINDS: dict[str, str] = {
    "duplicate-event": "S3/EventBridge delivers the file's Object Created event N more times",
    "fail-run": "the file's first N Glue runs end FAILED",
    "timeout-run": "the file's first N Glue runs run into the job timeout and end TIMEOUT",
    "throttle": "Glue refuses the file's next N starts with ConcurrentRunsExceededException",
    "crash-after-start": "the dispatcher dies right after Glue accepted the file's run (N times)",
    "lose-completion": "the Glue Job State Change events of the file's first N runs never arrive",
    "malformed-event": "N malformed Object Created events naming the file are delivered besides the real one",
    "delete-before-processing": "the landed object version is deleted before any run can read it",
    # the strict layer's faults (docs/emulator.md, "Strict layer and faults", cites the AWS page of each)
    "ambiguous-start": "StartJobRun takes effect but its answer is lost (timeout) N times; the SDK retries it",
    "ambiguous-send": "a handler's SendMessage naming the file takes effect, its answer is lost (N times)",
    "ambiguous-delete": "a handler's DeleteMessage of the file's message takes effect, its answer is lost",
    "ambiguous-visibility": "a handler's ChangeMessageVisibility takes effect, its answer is lost (N times)",
    "ambiguous-write": "a PutItem/UpdateItem/TransactWriteItems on the file takes effect, answer lost (500)",
    "duplicate-delivery": "the file's message goes to a second invocation too, before the first's STEP-th AWS call",
    "delay-event": "the file's S3 Object Created event reaches EventBridge SECONDS late",
    "repeat-event": "S3 sends the file's Object Created event again SECONDS later (default 360: past 5 minutes)",
    "lose-glue-event": "the Glue Job State Change events of the file's first N runs never arrive",
    "delay-glue-event": "the Glue Job State Change event of the file's first run arrives SECONDS late",
    "duplicate-glue-event": "the Glue Job State Change event of the file's first N runs arrives twice",
    "capacity-fail": "the file's first N runs end FAILED: 'Failed to acquire resources' (capacity, not the file)",
    "expire-run": "the file's first N runs end EXPIRED (no state change event)",
    "crash-in": "HANDLER (router, dispatcher, completion) dies just before its STEP-th AWS call (once)",
    "slow-handler": "HANDLER's first invocation stalls SECONDS in its first AWS call: past its timeout, it is killed",
    "gsi-lag": "gsi-lag:SECONDS: global secondary index queries see the table as it was SECONDS ago",
}
PARAMETERS: dict[str, tuple[str, int]] = {
    "duplicate-delivery": ("STEP", 1), "crash-in": ("STEP", 1), "delay-event": ("SECONDS", 60),
    "repeat-event": ("SECONDS", 360), "delay-glue-event": ("SECONDS", 300), "slow-handler": ("SECONDS", 900),
}
"""Kinds whose third field is a parameter (its name, its default) rather than a count; they fire once per file."""


class FaultSpecError(InputError):
    """A ``--fault`` value that cannot be understood; the message shows the accepted form."""


class FunctionCrash(BaseException):
    """The function's process died mid-invocation. A BaseException so handler code that catches Exception
    cannot swallow it, just as it cannot catch a Lambda sandbox being killed."""


@dataclass(frozen=True)
class Fault:
    kind: str
    glob: str
    times: int = 1

    def matches(self, key: str) -> bool:
        name = key.rsplit("/", 1)[-1]
        return fnmatch.fnmatchcase(name, self.glob) or fnmatch.fnmatchcase(key, self.glob)

    def __str__(self) -> str:
        return f"{self.kind}:{self.glob}:{self.times}"


def parse_fault(text: str) -> Fault:
    kind, sep, rest = text.partition(":")
    if kind not in KINDS or not sep or not rest:
        known = "\n".join(f"  {name:26} {what}" for name, what in KINDS.items())
        raise FaultSpecError(f"--fault {text!r}: expected KIND:GLOB[:N] with KIND one of:\n{known}\n"
                             "e.g. --fault fail-run:orders_*:2 --fault duplicate-event:'*' --fault gsi-lag:30")
    if kind == "gsi-lag":
        if not rest.isdigit():
            raise FaultSpecError(f"--fault {text!r}: expected gsi-lag:SECONDS (a whole number), e.g. gsi-lag:30")
        return Fault(kind, "*", int(rest))
    if kind in PARAMETERS and ":" not in rest:
        return Fault(kind, rest, PARAMETERS[kind][1])
    glob, times = rest, 1
    head, sep, tail = rest.rpartition(":")
    if sep and tail.isdigit():
        glob, times = head, int(tail)
    elif sep and tail and not tail.isdigit() and head:
        raise FaultSpecError(f"--fault {text!r}: N must be a whole number, got {tail!r}")
    if times < 1:
        raise FaultSpecError(f"--fault {text!r}: N must be at least 1")
    if not glob:
        raise FaultSpecError(f"--fault {text!r}: GLOB is empty; use '*' for every file")
    return Fault(kind, glob, times)


@dataclass
class FaultPlan:
    """The faults of one demo, with per-file counters so each fires exactly N times per file."""

    faults: list[Fault] = field(default_factory=list)
    _fired: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    log: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, texts: list[str]) -> FaultPlan:
        return cls([parse_fault(text) for text in texts])

    def parameter(self, kind: str, key: str) -> int | None:
        """The parameter (STEP, SECONDS) of the first ``kind`` fault matching ``key``, without consuming it."""
        return next((f.times for f in self.faults if f.kind == kind and f.matches(key)), None)

    def fire_once(self, kind: str, key: str, scope: str = "") -> int | None:
        """For parameter kinds: the parameter the first time ``kind`` fires for ``key`` (in ``scope``, e.g. per
        function), else None."""
        with self._lock:
            for fault in self.faults:
                counter = (kind, fault.glob, f"{key}@{scope}" if scope else key)
                if fault.kind == kind and fault.matches(key) and not self._fired[counter]:
                    self._fired[counter] += 1
                    self.log.append((kind, key))
                    return fault.times
        return None

    def has(self, kind: str) -> bool:
        return any(f.kind == kind for f in self.faults)

    def times(self, kind: str, key: str) -> int:
        """How many times ``kind`` applies to ``key`` in total (for faults injected all at once)."""
        return sum(f.times for f in self.faults if f.kind == kind and f.matches(key))

    def fire(self, kind: str, key: str) -> bool:
        """Whether ``kind`` fires for ``key`` now; consumes one of its N shots when it does."""
        with self._lock:
            for fault in self.faults:
                if fault.kind != kind or not fault.matches(key):
                    continue
                counter = (kind, fault.glob, key)
                if self._fired[counter] < fault.times:
                    self._fired[counter] += 1
                    self.log.append((kind, key))
                    return True
        return False

    def fired(self) -> Counter[str]:
        with self._lock:
            return Counter(kind for kind, _ in self.log)
