"""One cell of the strategies bench (what to run) and its row (what it measured): the Markdown
table, and the rows read back from a published table."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    """One run to make."""

    strategy: str
    load: str
    interval: str
    replicas: int = 2
    runs_as: str = ""  # the strategy it runs, when `strategy` names a variant of one
    variables: tuple[tuple[str, str], ...] = ()  # compose variables of the variant's stack


@dataclass
class Row:
    """One cell of the matrix."""

    strategy: str
    load: str
    interval: str
    replicas: int
    requests: int = 0
    failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    writes_acked: int = 0
    writes_lost: int = 0
    seconds: float = 0.0
    floor: float | None = None
    old_busy: float | None = None  # the last answer from an old replica, seconds after the start
    peak: int = 0
    error: str | None = None
    project: str = ""  # the stack's compose project: its rollout log is out/<project>.rollout.jsonl
    streams: int = 0  # streams the probe held (0 unless the load holds streams)
    handed_over: int = 0  # stream endings that were clean handovers
    streams_dropped: dict[str, int] = field(default_factory=dict)  # the others, by kind
    longest_silence: float = 0.0  # the longest a stream's client went without an event, seconds
    exit_code: int | None = None  # the lab rollout's exit status; None for the other strategies
    tool_cpu: float | None = None  # the lab rollout's CPU seconds, its own and its commands'
    tool_peak_mib: float | None = None  # the lab rollout's process at its peak

    def cells(self) -> list[str]:
        """The row's Markdown cells."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.failures.items())) or "-"
        floor = f"{self.floor:.1f} s" if self.floor else "-"
        busy = f"{self.old_busy:.1f} s" if self.old_busy is not None else "-"
        status = f" ({self.error})" if self.error else ""
        return [
            self.strategy + status,
            self.load,
            self.interval,
            str(self.replicas),
            f"{self.failed} / {self.requests}",
            kinds,
            f"{self.writes_lost} / {self.writes_acked}",
            f"{self.seconds:.1f} s",
            floor,
            busy,
            str(self.peak),
            f"{self.tool_cpu:.1f} s, {self.tool_peak_mib:.0f} MiB" if self.tool_cpu is not None else "-",
        ]


HEADER = [
    "strategy",
    "load",
    "healthcheck",
    "N",
    "failed / requests",
    "failures by kind",
    "writes lost / acked",
    "rollout time",
    "floor",
    "old replicas' last answer",
    "peak containers",
    "rollout's CPU, memory",
]


def table(rows: list[Row]) -> str:
    """The Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


# One colour per strategy in both panels; one line style per load.
def rows_from_table(markdown: str) -> list[Row]:
    """The rows of a strategies table as this bench writes it (to re-plot a published run)."""
    rows: list[Row] = []
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        # Tables published before the cost column have one cell fewer.
        if (
            len(cells) not in (len(HEADER), len(HEADER) - 1)
            or cells[0] in {HEADER[0], "---"}
            or set(cells[0]) <= {"-"}
        ):
            continue
        failed, requests = (int(x) for x in cells[4].split(" / "))
        lost, acked = (int(x) for x in cells[6].split(" / "))
        kinds = {k: int(n) for k, n in (p.rsplit(" ", 1) for p in cells[5].split(", ") if p != "-")}
        rows.append(
            Row(
                cells[0], cells[1], cells[2], int(cells[3]), requests, failed, kinds, acked, lost,
                float(cells[7].removesuffix(" s")),
                float(cells[8].removesuffix(" s")) if cells[8] != "-" else None,
                float(cells[9].removesuffix(" s")) if cells[9] != "-" else None,
                int(cells[10]),
            )
        )  # fmt: skip
    return rows
