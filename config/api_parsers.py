"""The API's JSON parser: DRF's, refusing what would crash a view instead of failing it.

- nesting deeper than ``MAX_DEPTH`` (100,000 levels overflow Python's stack; a few hundred
  overflow the recursive code that walks serializer errors);
- numbers no field can hold: ``1e999`` (infinity), and integers beyond 64 bits.

Each is a 400 ``parse_error`` naming the problem.
"""

from __future__ import annotations

import codecs
import json
import math

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
MAX_INTEGER = 2**63 - 1


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_INTEGER:
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _too_deep(data) -> bool:
    """Whether ``data`` nests lists and objects more than ``MAX_DEPTH`` deep (no recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return True
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)
    return False


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        too_deep = ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_float=_finite_float,
                parse_int=_bounded_int,
                parse_constant=_refuse_constant,
            )
        except RecursionError:
            raise too_deep from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if _too_deep(data):
            raise too_deep
        return data
