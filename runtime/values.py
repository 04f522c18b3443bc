"""Immutable value classes that cost nothing at import: the handlers' records that need no dataclass machinery.

A frozen dataclass is expensive to *define* on Python 3.11: ``@dataclass`` writes the source of six methods
(``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``) and compiles each
with ``exec`` when the module is imported, about 4 M instructions a class, and a Lambda cold start imports a
few dozen of them (docs/runtime.md, "Import time"). A class written on :class:`Frozen` has the same behaviour
(keyword or positional construction, equality and hashing by value, a readable repr, assignment refused,
copy and pickle) from methods compiled once into the deployed bytecode: about 0.1 M instructions a class.

Used for the records the handlers pass around that no caller treats as a dataclass (``dataclasses.replace``,
``fields``, ``asdict``). The rule types ``runtime.decide`` and ``runtime.group_state`` build in the
simulator's hot loop, and ``PipelineSpec`` (read through ``dataclasses.fields``), stay dataclasses.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any, ClassVar


class Frozen:
    """Base of a slotted immutable value: a subclass lists its fields, in order, as ``_fields = __slots__ =
    (...)`` and declares their types as annotations; its ``__init__`` hands the values, in that order, to
    ``_init``."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def _init(self, *values: Any) -> None:
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, in order (what ``vars`` or ``dataclasses.asdict`` gave, without recursing)."""
        return dict(zip(self._fields, self._values(), strict=True))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Copy and pickle rebuild through ``__init__`` (slot state would be restored by ``setattr``)."""
        return (self.__class__, self._values())
