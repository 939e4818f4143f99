"""The endpoint's state on disk, so `local down` then `local up` keeps every bucket, object, role, Glue
resource, job run and crawl (`serve --data-file F`; `lifecycle.up` passes `<state dir>/local-endpoint-data.pickle`).

moto 5.2 has no snapshot of its backends in server mode: its recorder (`MOTO_ENABLE_RECORDING`,
`moto/moto_api/_internal/recorder/`) logs requests and *replays* them, which would run every recorded
StartJobRun and StartCrawler again. So we pickle the backends' state instead, as LocalStack persists moto's
backends: for every backend moto has instantiated (`BackendDict._instances`: s3, iam, glue, logs, sts, ...),
each account's and region's backend object, plus what our Glue runtime keeps outside moto (workflow runs,
`triggers.TriggerEngine.workflow_runs`), in one pickle so shared objects (a job run in its job and in its
workflow run, the backend a job points back to) stay shared. On restore each live backend takes the restored
one's `__dict__` (the very dict, not a copy), so moto's lookups and the restored objects' back references see
one state. Job runs and crawls are moto's lists' entries (our `JobRun` / `CrawlRun`): their
threads, events and processes are not pickled (`__getstate__`). moto's S3 keys pickle their bytes
(`moto.s3.models.FakeKey.__getstate__`).

When: before and after every mutating request (any method but GET/HEAD/OPTIONS), and when a crawl or job
run ends, the state is marked dirty; a saver thread writes it at most every `SAVE_INTERVAL` seconds
(`RECONCILER_LOCAL_SAVE_INTERVAL` changes it), atomically (temporary file + rename); and once more after
shutdown has stopped every run. A SIGKILLed endpoint therefore loses at most the last interval, unless a
client asked for a save first: `POST /_reconciler/save` writes the state at once if anything changed since
the last save, and answers when it is on disk. The CLI asks for it before every `--local` command exits, so
a container that ends with its command (and SIGKILLs the endpoint it started) keeps what the command did.
On restore, a run or crawl that was still active when the state was saved (the endpoint died under it)
ends FAILED with `INTERRUPTED_MESSAGE`.

Not kept: the runtime settings and the schedule clock (they come from the environment at start-up) and the
fault mode. A file written by another moto
version, or one that cannot be read, is moved aside (`<file>.unreadable`) with a warning in the endpoint's
log, and the endpoint starts empty: pickles are not portable across moto versions. The file is the
user's own (under their `.reconciler/`); like any pickle it must not come from someone else.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconciler_local.moto_api import MOTO_VERSION, BackendDict, get_backend
from reconciler_local.runtime import Runtime

log = logging.getLogger("reconciler_local.persistence")

FORMAT = 1
SAVE_INTERVAL = 1.0  # seconds between two saves while requests keep changing the state
SAVE_INTERVAL_ENV = "RECONCILER_LOCAL_SAVE_INTERVAL"  # another interval, in seconds (a large state saves slowly)
INTERRUPTED_MESSAGE = "The local endpoint stopped while this run was active (it was killed or crashed)"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _backend_dicts() -> Iterator[tuple[str, BackendDict[Any]]]:
    instances: list[BackendDict[Any]] = list(BackendDict._instances)  # type: ignore[misc]
    for backend_dict in instances:
        yield str(backend_dict.service_name), backend_dict


def _collect() -> dict[str, Any]:
    from reconciler_local.glue import triggers

    backends: dict[str, dict[str, dict[str, Any]]] = {}
    for service, backend_dict in _backend_dicts():
        for account, regions in list(backend_dict.items()):
            for region, backend in list(regions.items()):
                backends.setdefault(service, {}).setdefault(account, {})[region] = backend
    return {"format": FORMAT, "moto": MOTO_VERSION, "backends": backends,
            "workflow_runs": dict(triggers.engine().workflow_runs)}


def save(path: Path, runtime: Runtime) -> None:
    """Write the state to `path` atomically. A request changing a dict while it is pickled makes pickle fail
    ("dictionary changed size during iteration"): try again, a few times."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for attempt in range(5):
        try:
            with runtime.lock:
                data = pickle.dumps(_collect(), protocol=pickle.HIGHEST_PROTOCOL)
            break
        except RuntimeError:
            if attempt == 4:
                raise
            time.sleep(0.05)
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _set_aside(path: Path, reason: str) -> None:
    aside = path.with_name(path.name + ".unreadable")
    log.warning("cannot restore the endpoint's state from %s (%s); starting empty, the file is now %s",
                path, reason, aside)
    os.replace(path, aside)


def restore(path: Path, runtime: Runtime) -> bool:
    """Load the state saved in `path` into moto's backends and our runtime; False if there was none (or it was
    unreadable: then it is set aside and the endpoint starts empty)."""
    from reconciler_local.glue import crawler_runtime, job_runtime, triggers

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return False
    try:
        data: dict[str, Any] = pickle.loads(raw)
    except Exception as error:
        _set_aside(path, f"{type(error).__name__}: {error}")
        return False
    if data.get("format") != FORMAT or data.get("moto") != MOTO_VERSION:
        _set_aside(path, f"written by format {data.get('format')} / moto {data.get('moto')}, "
                         f"this is format {FORMAT} / moto {MOTO_VERSION}")
        return False
    known = dict(_backend_dicts())
    with runtime.lock:
        for service, accounts in data["backends"].items():
            backend_dict = known.get(service) or get_backend(service)
            for account, regions in accounts.items():
                for region, restored in regions.items():
                    backend_dict[account][region].__dict__ = restored.__dict__
        triggers.engine().workflow_runs.update(data.get("workflow_runs", {}))
    job_runtime.job_runtime().adopt_restored(INTERRUPTED_MESSAGE)
    crawler_runtime.crawler_runtime().adopt_restored(INTERRUPTED_MESSAGE)
    log.info("restored the endpoint's state from %s", path)
    return True


def save_interval() -> float:
    """`RECONCILER_LOCAL_SAVE_INTERVAL` seconds if it is a positive number, else SAVE_INTERVAL."""
    try:
        value = float(os.environ.get(SAVE_INTERVAL_ENV, ""))
    except ValueError:
        return SAVE_INTERVAL
    return value if value > 0 else SAVE_INTERVAL


class Saver:
    """Marks the state dirty (requests, ended runs) and writes it from a thread at most every save_interval()."""

    def __init__(self, path: Path, runtime: Runtime) -> None:
        self.path = path
        self.runtime = runtime
        self._dirty = threading.Event()
        self._stopped = threading.Event()
        self._saving = threading.Lock()  # one save at a time: the thread's or a flush's
        self.interval = save_interval()
        self._thread = threading.Thread(target=self._loop, name="state-saver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def mark_dirty(self, *_: object) -> None:
        self._dirty.set()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self._dirty.wait(0.5)
            if self._stopped.is_set():
                return
            try:
                saved = self.flush()
            except Exception:
                log.exception("could not save the endpoint's state to %s", self.path)
                saved = True
            if saved:
                self._stopped.wait(self.interval)

    def flush(self) -> bool:
        """Save now if anything changed since the last save; False when nothing had. The flag is cleared before
        the save, so a change that lands during it marks the state dirty again."""
        with self._saving:
            if not self._dirty.is_set():
                return False
            self._dirty.clear()
            save(self.path, self.runtime)
            return True

    def stop_and_save(self) -> None:
        """The last save, after the runtime has stopped every crawl and job run (call after shutdown)."""
        self._stopped.set()
        self._dirty.set()
        self._thread.join(timeout=30)
        with self._saving:
            save(self.path, self.runtime)
