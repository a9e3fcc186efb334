"""Which replicas of a service were drained, kept in the service's state on disk: written before
the drain signal is sent, read by any process. A rollout killed right after a drain leaves its
record, so `recover` and the next rollout see that replica as draining even though Docker still
calls it healthy (under the `signal:` and `sigterm` contracts nothing else would say so)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from zerodrop.errors import RolloutInputError
from zerodrop.private_files import private_write


class DrainRecords:
    """The drained replicas of one service, by container id: contract, time, process."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: kept in this process only (tests, a look without state)
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, Any]]:
        if self.path is None:
            return dict(self._memory)
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise RolloutInputError(
                f"drain records {self.path} cannot be read ({type(error).__name__}): move it aside"
            ) from None
        if not isinstance(data, dict):
            raise RolloutInputError(f"drain records {self.path} are not a JSON object: move it aside")
        return data

    def _write(self, records: dict[str, dict[str, Any]]) -> None:
        if self.path is None:
            self._memory = records
            return
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        private_write(tmp, json.dumps(records, indent=1))
        tmp.replace(self.path)

    def add(self, container_id: str, contract: str) -> None:
        """Record a drain, before its signal or file is sent."""
        with self._lock:
            records = self._read()
            records[container_id] = {"contract": contract, "at": time.time(), "pid": os.getpid()}
            self._write(records)

    def remove(self, container_id: str) -> None:
        """Forget a drain that was taken back (or a replica that is gone)."""
        with self._lock:
            records = self._read()
            if records.pop(container_id, None) is not None:
                self._write(records)

    def drained(self, container_id: str) -> bool:
        """Whether a drain of this replica was recorded and not taken back."""
        with self._lock:
            return container_id in self._read()
