"""Decoding of the Rack-style form bodies and query strings the stripe client sends.

The client flattens ``{"metadata": {"k": "v"}, "expand": ["x"]}`` into ``metadata[k]=v&expand[0]=x``
and booleans into ``true``/``false``; this module turns that back into nested JSON-like values so
handlers and recorded requests can work with the same shape the caller passed to the SDK.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["decode_form"]

_KEY = re.compile(r"^(?P<base>[^\[\]]+)(?P<rest>(?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")

# Only these keys become ints; everything else stays a string so ids such as "123" or postcodes
# in metadata keep the exact value the caller sent.
_INT_KEYS = frozenset(
    {
        "amount",
        "amount_to_capture",
        "application_fee_amount",
        "limit",
        "created",
        "times",
    }
)

# Metadata is a free-form string map on Stripe; coercing "true" there would change the value
# the caller stored and later reads back.
_OPAQUE_KEYS = frozenset({"metadata"})


class _Append:
    """Marker for the ``a[]=v`` form, which appends rather than indexing."""


def _segments(key: str) -> list[str | int | _Append]:
    match = _KEY.match(key)
    if match is None:
        return [key]
    segments: list[str | int | _Append] = [match.group("base")]
    for raw in _SEGMENT.findall(match.group("rest")):
        if raw == "":
            segments.append(_Append())
        elif raw.isdigit():
            segments.append(int(raw))
        else:
            segments.append(raw)
    return segments


def _insert(tree: dict[Any, Any], segments: list[str | int | _Append], value: str) -> None:
    node = tree
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        key: Any = segment
        if isinstance(segment, _Append):
            # Appends become the next free integer index; _finalise turns int-keyed dicts
            # into lists, so both list syntaxes end up identical.
            key = sum(1 for k in node if isinstance(k, int))
        if last:
            node[key] = value
            return
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child


def _finalise(value: Any, key: str | None, opaque: bool) -> Any:
    if isinstance(value, dict):
        if value and all(isinstance(k, int) for k in value):
            return [_finalise(value[k], key, opaque) for k in sorted(value)]
        return {str(k): _finalise(v, str(k), opaque or str(k) in _OPAQUE_KEYS) for k, v in value.items()}
    if opaque or not isinstance(value, str):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    if key in _INT_KEYS and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def decode_form(text: str) -> dict[str, Any]:
    """Decode ``a[b][c]=v&a[0]=v`` into nested dicts/lists; later duplicates win."""
    tree: dict[Any, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        _insert(tree, _segments(key), value)
    result = _finalise(tree, None, False)
    assert isinstance(result, dict)
    return result
