"""Calls that do not depend on each other, made at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def each(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`function` of every item, all at once (one thread each), the results in the items' order;
    the first exception raised is raised here once every call has ended."""
    with ThreadPoolExecutor(max(1, len(items))) as pool:
        return list(pool.map(function, items))
