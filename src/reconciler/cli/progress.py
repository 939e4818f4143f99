"""What `reconcile run` shows while it runs: the run's events for people, or as JSON lines for machines.

- On a terminal: one live line with a spinner, the step, what it waits for, its state and the *step's* own
  elapsed time (ticking between polls), and under it the newest driver log lines; each step ends in one
  line (`✓ job (12.3s)`, `✗ job failed`, `✗ job timed out`, `■ job interrupted`). `--logs` prints every
  driver log line above the live line.
- Not on a terminal (cron, CI, a pipe): no spinner; one line per state change, and a heartbeat line every
  `HEARTBEAT_SECONDS` (`RECONCILER_HEARTBEAT_SECONDS` overrides it, for tests) with the newest log line.
- `--json`: every event as one JSON object per line, unchanged (`format_version`, `ts`, `event`, fields),
  with full ids; `--logs` adds `log` events.

Human output shortens Glue's job run ids (`jr_` and 64 hex digits) to `SHORT_ID` characters, printed once
when the job starts; `--json`, `show` and every pasteable hint carry the full id.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.text import Text

from reconciler.quarterly.types import EVENT_FORMAT_VERSION, SHORT_ID, short_id

__all__ = ["HEARTBEAT_ENV", "HEARTBEAT_SECONDS", "SHORT_ID", "RunProgress", "elapsed_text", "short_id"]

HEARTBEAT_SECONDS = 30.0
HEARTBEAT_ENV = "RECONCILER_HEARTBEAT_SECONDS"
TAIL_LINES = 3  # driver log lines under the live line

ENDED = {
    "failed": ("[red]✗[/]", "failed"),
    "timed_out": ("[red]✗[/]", "timed out"),
    "interrupted": ("[yellow]■[/]", "interrupted"),
    "stopped": ("[yellow]■[/]", "interrupted"),
}


def elapsed_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def heartbeat_seconds() -> float:
    try:
        return float(os.environ.get(HEARTBEAT_ENV, HEARTBEAT_SECONDS))
    except ValueError:
        return HEARTBEAT_SECONDS


class _LiveLine:
    """The live region's renderable: re-rendered at every refresh, so the elapsed time ticks by itself."""

    def __init__(self, progress: RunProgress) -> None:
        self.progress = progress
        self.spinner = Spinner("dots")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        p = self.progress
        frame = self.spinner.render(p.clock())
        head = Text.assemble(frame if isinstance(frame, Text) else Text(str(frame)), " ", p.headline())
        head.no_wrap = True
        head.truncate(options.max_width, overflow="ellipsis")
        yield head
        for line in list(p.tail):
            text = Text("    " + line, style="dim", no_wrap=True)
            text.truncate(options.max_width, overflow="ellipsis")
            yield text


class RunProgress:
    """The run's event sink (quarterly.types.EventSink) for the CLI."""

    def __init__(self, console: Console, as_json: bool, *, logs: bool = False, clock: Any = time.monotonic) -> None:
        self.console = console
        self.as_json = as_json
        self.logs = logs
        self.live_mode = console.is_terminal and not as_json
        self.clock = clock
        self.heartbeat = heartbeat_seconds()
        self.lock = threading.Lock()
        self.live: Live | None = None
        self.step: str | None = None
        self.step_started = clock()
        self.what = ""
        self.state: str | None = None
        self.last_line_at = clock()
        self.tail: list[str] = []
        self.last_log: str | None = None
        self.frame = _LiveLine(self)  # one for the whole run: its spinner turns with the clock

    # --- the sink -------------------------------------------------------------------------------------------

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        if self.as_json:
            now = datetime.now(UTC).isoformat(timespec="milliseconds")
            record = {"format_version": EVENT_FORMAT_VERSION, "ts": now, "event": event, **fields}
            print(json.dumps(record, default=str), flush=True)
            return
        handler = getattr(self, "_on_" + event, None)
        if handler is not None:
            handler(fields)

    def _on_ingestion(self, fields: dict[str, Any]) -> None:  # quarterly/refresh.py
        from reconciler.quarterly.refresh import describe

        self.print(f"  refresh: {escape(describe(fields))}")

    def _on_quarter(self, fields: dict[str, Any]) -> None:
        why = "given" if fields["explicit"] else f"due: spec.schedule.quarter {fields['rule']}"
        self.print(f"  quarter {fields['quarter']} ({why})")

    def _on_plan(self, fields: dict[str, Any]) -> None:
        if not fields.get("as_reviewed", True):  # re-made under the lock: not the plan shown above
            changes = fields["changes"]
            self.print(f"  the live state changed before the lock was taken; applied instead: "
                       f"{', '.join(changes) if changes else 'no changes'}")  # fmt: skip

    def _on_step_started(self, fields: dict[str, Any]) -> None:
        with self.lock:
            self.step, self.step_started, self.state, self.what = str(fields["step"]), self.clock(), None, ""
            self.tail, self.last_log, self.last_line_at = [], None, self.clock()
        self._start_live()

    def _on_waiting(self, fields: dict[str, Any]) -> None:
        what = str(fields.get("crawler") or fields.get("job") or "")
        state = str(fields.get("state"))
        changed = state != self.state
        with self.lock:
            self.what, self.state = what, state
        if self.live_mode:
            return
        now = self.clock()
        if changed:
            self.print(f"  {self.step}: {escape(what)} {state} ({elapsed_text(now - self.step_started)})")
        elif now - self.last_line_at >= self.heartbeat:
            log = f"; newest log line: {escape(self.last_log)}" if self.last_log else ""
            self.print(f"  {self.step}: {escape(what)} still {state} after {elapsed_text(now - self.step_started)}"
                       f"{log}")  # fmt: skip

    def _on_log(self, fields: dict[str, Any]) -> None:
        lines = [str(line) for line in fields.get("lines") or []]
        with self.lock:
            self.tail = (self.tail + [line for line in lines if line.strip()])[-TAIL_LINES:]
            if self.tail:
                self.last_log = self.tail[-1]
        if self.logs:
            for line in lines:
                self.console.print(f"  | {line}", markup=False, highlight=False)
            self.last_line_at = self.clock()  # lines are flowing: no heartbeat needed

    def _on_step_finished(self, fields: dict[str, Any]) -> None:
        self.stop()
        self.console.print(f"[green]✓[/] {fields['step']} ({fields['seconds']:.1f}s)")

    def _on_step_failed(self, fields: dict[str, Any]) -> None:
        self.stop()
        mark, verb = ENDED.get(str(fields.get("outcome") or "failed"), ENDED["failed"])
        detail = {
            "timed_out": ": --timeout expired, the run stopped what it waited for",
            # a bare interrupt (during the apply, the gate, ...) has no message: nothing of it goes on
            "interrupted": ": what it waited for goes on running" if fields.get("error") else "",
            "stopped": ": the job run was stopped",
        }.get(str(fields.get("outcome")), "")
        self.console.print(f"{mark} {fields['step']} {verb} ({fields['seconds']:.1f}s){detail}")

    def _on_crawl_started(self, fields: dict[str, Any]) -> None:
        how = "attached to its running crawl" if fields.get("attached") else "started"
        self.print(f"  crawler {escape(str(fields['crawler']))} {how}")

    def _on_job_started(self, fields: dict[str, Any]) -> None:
        self.print(f"  job {escape(str(fields['job']))} run {short_id(fields['job_run_id'])} started")

    def _on_job_attached(self, fields: dict[str, Any]) -> None:
        adopted = f" (the job run of run {fields['run_id']}, whose process was killed)" if fields.get("adopted") else ""
        self.print(f"  job {escape(str(fields['job']))} run {short_id(fields['job_run_id'])} attached{adopted}")

    def _on_lock_wait(self, fields: dict[str, Any]) -> None:
        self.print(f"  waiting for the lock: {escape(str(fields['holder']))}")

    def _on_lock_taken_over(self, fields: dict[str, Any]) -> None:
        self.print(f"  took over the lock: {escape(str(fields['holder']))}: {escape(str(fields['reason']))}")

    def _on_warning(self, fields: dict[str, Any]) -> None:
        self.print(f"[bold yellow]Warning:[/] {escape(str(fields['message']))}")

    def _on_run_record_warning(self, fields: dict[str, Any]) -> None:
        self.print(f"[bold yellow]Warning:[/] {escape(str(fields['warning']))}")

    # --- output ---------------------------------------------------------------------------------------------

    def print(self, text: str) -> None:
        """A line above the live region (or just a line)."""
        self.console.print(text, highlight=False)
        self.last_line_at = self.clock()

    def headline(self) -> Text:
        with self.lock:
            step, what, state = self.step or "", self.what, self.state
            took = elapsed_text(self.clock() - self.step_started)
        parts = [step] + ([what] if what else []) + ([state] if state else ["…"]) + [took]
        return Text(" ".join(parts))

    def _start_live(self) -> None:
        if not self.live_mode or self.live is not None:
            return
        self.live = Live(self.frame, console=self.console, refresh_per_second=8, transient=True,
                         redirect_stdout=False, redirect_stderr=False)  # fmt: skip
        self.live.start()

    def stop(self) -> None:
        """End the live region (a step ended, or before a question: nothing redraws under a prompt)."""
        if self.live is not None:
            self.live.stop()
            self.live = None

    pause = stop

    def live_frame(self) -> _LiveLine:
        """What the live region shows now (tests and docs/run-transcript.md render it at a fixed width)."""
        return self.frame
