"""Typed definitions of the updates, signals and queries a workflow accepts.

A caller holding only a definition addresses the handler by name with the right argument and
result types, so it needs neither the workflow class nor the workflow's imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

NO_ARGUMENT: type[None] = type(None)
"""The ``arg_type`` of a query that takes no argument."""


@dataclass(frozen=True)
class Update(Generic[ArgT, ResultT]):
    name: str
    arg_type: type[ArgT]
    result_type: type[ResultT]


@dataclass(frozen=True)
class Signal(Generic[ArgT]):
    name: str
    arg_type: type[ArgT]


@dataclass(frozen=True)
class Query(Generic[ArgT, ResultT]):
    name: str
    arg_type: type[ArgT]
    result_type: type[ResultT]
