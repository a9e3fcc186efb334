"""One read of Traefik's API shared by every rollout that checks it at about the same time: the
list of HTTP services (or routers), read at most once per `max_age` and handed to every caller,
instead of one read per rollout per check. `zerodrop up` rolls services side by side through it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from zerodrop.adapters.traefik_api import api_json, api_object

KINDS = ("services", "routers")
PER_PAGE = 1000  # Traefik's API pages its lists (100 by default); a name beyond this is read by itself


@dataclass
class SharedReads:
    """Traefik's HTTP services and routers at one API URL, each list read at most once per
    `max_age` seconds for every caller; counts the reads sent and the answers given."""

    api_url: str
    max_age: float = 0.2
    reads: int = 0  # lists read from the API
    answers: int = 0  # documents handed to callers
    _locks: dict[str, threading.Lock] = field(default_factory=lambda: {k: threading.Lock() for k in KINDS})
    _lists: dict[str, tuple[float, dict[str, dict[str, Any]]]] = field(default_factory=dict)

    def doc(self, kind: str, name: str) -> dict[str, Any] | None:
        """Traefik's document of one HTTP service or router (e.g. app@docker) from a list that began
        at most `max_age` ago; None if Traefik has no such thing."""
        listed = self._listing(kind)
        if name in listed:
            return listed[name]
        return api_object(self.api_url, f"/api/http/{kind}/{name}")  # not listed: absent, or a page further

    def _listing(self, kind: str) -> dict[str, dict[str, Any]]:
        """The list of `kind` by name: the last one read if it began at most `max_age` ago, else a
        new one. Callers that come while a read is under way wait for it instead of sending their own."""
        with self._locks[kind]:
            self.answers += 1
            began = time.monotonic()
            cached = self._lists.get(kind)
            if cached is not None and began - cached[0] <= self.max_age:
                return cached[1]
            doc = api_json(self.api_url, f"/api/http/{kind}?per_page={PER_PAGE}")
            listed = {
                str(entry["name"]): entry
                for entry in (doc if isinstance(doc, list) else [])
                if isinstance(entry, dict) and "name" in entry
            }
            self._lists[kind] = (began, listed)
            self.reads += 1
            return listed

    def line(self) -> str:
        """'Traefik's API, read at most once per 0.2s: 41 reads for 160 checks'."""
        every = f"read at most once per {self.max_age:g}s"
        return f"Traefik's API, {every}: {self.reads} reads for {self.answers} checks"
