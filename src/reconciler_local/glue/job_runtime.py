"""Job runs that really run: StartJobRun executes the job's script, unmodified, in a separate process.

How a run goes:
1. STARTING: a work directory `<work root>/job-runs/<run id>/` is made; the script is copied there from
   its Command.ScriptLocation in the endpoint's S3; every `s3://` argument is staged (`staging.py`).
   For `glueetl` jobs the Glue version must map to the installed PySpark's major.minor and a `java`
   must exist (`versions.py`), else the run FAILS saying what is missing.
2. RUNNING: `sys.executable script.py --JOB_NAME <name> --JOB_RUN_ID <id> <arguments>` where the
   arguments are the job's DefaultArguments, overridden by the run's Arguments, overridden by the job's
   NonOverridableArguments, each as `--key value` (s3:// values rewritten to local paths). Environment:
   PYSPARK_PYTHON / PYSPARK_DRIVER_PYTHON = this Python, AWS_ENDPOINT_URL = the endpoint, dummy
   credentials and the job's region (so boto3 inside the script reaches the endpoint), and
   PYSPARK_SUBMIT_ARGS with small-machine settings (no Spark UI, 4 shuffle partitions, C1-only JIT;
   RECONCILER_LOCAL_PYSPARK_SUBMIT_ARGS replaces them).
3. The run ends SUCCEEDED (exit 0), FAILED (ErrorMessage = the last line of the Python traceback, e.g.
   "ValueError: boom"), TIMEOUT (the run's Timeout, else the job's, else AWS's default for the job's Glue
   version, models.default_job_timeout_minutes; one minute lasts
   `timeout_minute_seconds` real seconds, 60 unless changed by the setting or
   RECONCILER_LOCAL_TIMEOUT_MINUTE_SECONDS) or STOPPED (BatchStopJobRun); timeout and stop kill the
   process group. After SUCCEEDED or FAILED, staged folders are mirrored back to S3.
   A FAILED or TIMEOUT run is retried up to the job's MaxRetries (Attempt n, id `<first id>_attempt_<n>`).
Logs: the driver's stdout and stderr are kept in `<work dir>/driver.log` (interleaved by line),
`stdout.log` and `stderr.log`; `GET /_reconciler/job-runs/<run id>/log` returns driver.log, and
`GET /_reconciler/job-runs/<run id>` where everything is. When the run ends the streams are also
written to the endpoint's CloudWatch Logs (moto's logs backend, so GetLogEvents reads them), in the
layout of the run's Glue version (`log_layout`):
- Glue 5.0 and later (setting `glue5_log_layout`, on by default): stream `<run id>-driver`; the user's
  stdout *and* stderr go to `/aws-glue/jobs/output` and the system logs to `/aws-glue/jobs/error` (AWS
  Glue Developer Guide, "Logging for AWS Glue jobs": "system logs, Spark daemon logs, and user AWS Glue
  Logger logs are written to the /aws-glue/jobs/error log group ... user stdout (standard output) and
  stderr (standard error) logs are written to the /aws-glue/jobs/output log group"; streams are
  `jobrunid-driver`). Locally the driver's stderr is where Spark's own log goes, so `/error` gets the
  stderr lines and `/output` the interleaved stdout+stderr (driver.log).
- before 5.0 (or with the setting off): stream = run id, stdout in `/aws-glue/jobs/output`, stderr in
  `/aws-glue/jobs/error` (the run's LogGroupName is `/aws-glue/jobs`).
Roles (`roles.py`): with `role_resolution` / `iam_propagation_seconds` a run whose role Glue could not
assume FAILS before anything runs; with `enforce_role_policies` the script read, the staging and the
mirroring are checked against the role's policies; with `enforce_iam` the script gets credentials of
an STS session of the role (moto's STS backend), so its own boto3 calls are authorised as the role.
MaxConcurrentRuns (default 1) is enforced with ConcurrentRunsExceededException.
Every run's process group (the script, PySpark's JVM and workers) ends with the endpoint, even when the
endpoint is SIGKILLed: the script runs under `run_guard.py` (PR_SET_PDEATHSIG on Linux, a parent poll elsewhere).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from reconciler_local.clock import utc_now
from reconciler_local.glue import identity
from reconciler_local.glue.crawler_runtime import StartedBy
from reconciler_local.glue.exceptions import ConcurrentRunsExceededException, JobRunNotFoundException
from reconciler_local.glue.models import default_job_timeout_minutes
from reconciler_local.glue.staging import Stager
from reconciler_local.glue.versions import RuntimeUnavailable, check_spark_runtime
from reconciler_local.moto_api import (
    ActionResult,
    FakeJob,
    GlueBackend,
    GlueResponse,
    glue_backends,
    logs_backends,
    request_params,
    sts_backends,
)
from reconciler_local.patching import graft
from reconciler_local.roles import ASSUME_ROLE_MESSAGE, AccessDenied, assume_problem, resolve_role, role_check, s3_arn
from reconciler_local.runtime import Runtime, Settings
from reconciler_local.s3store import S3Error, S3Store, split_uri

log = logging.getLogger("reconciler_local.jobs")

STARTING, RUNNING, STOPPING = "STARTING", "RUNNING", "STOPPING"
SUCCEEDED, FAILED, TIMEOUT, STOPPED = "SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"
ACTIVE_STATES = {STARTING, RUNNING, STOPPING}
LOG_GROUP = "/aws-glue/jobs"
RUN_GUARD = Path(__file__).with_name("run_guard.py")  # ends the run's process group with the endpoint
OWN_NOTE = "[reconciler_local] "  # our own lines in driver.log; not published to CloudWatch
# Small-machine Spark: no UI, 4 shuffle partitions, and the JVM's quick (C1-only) JIT, which halves the
# start-up of a trivial job and was faster on the 1M-row car-brands job too (34 s vs 45 s on 2 cores).
# A 3 GiB heap (Spark's default is 1 GiB) lets the 10M-row job de-duplicate and sort without spilling to
# disk; a Glue G.1X worker has 16 GB (AWS Glue Developer Guide, "AWS Glue worker types"). The heap is a
# ceiling: a small job uses what it needs.
SPARK_SUBMIT_ARGS = (
    "--conf spark.ui.enabled=false --conf spark.sql.shuffle.partitions=4 "
    "--conf spark.driver.bindAddress=127.0.0.1 --driver-memory 3g "
    "--driver-java-options=-XX:TieredStopAtLevel=1 pyspark-shell"
)


@dataclass
class JobRun:
    job_name: str
    job_run_id: str
    attempt: int
    arguments: dict[str, str]  # what StartJobRun passed (AWS reports these, not the merged ones)
    timeout_minutes: int
    glue_version: str | None
    worker_type: str | None
    number_of_workers: int | None
    max_capacity: float | None
    region: str
    started_by: StartedBy = field(default_factory=StartedBy)
    previous_run_id: str | None = None
    state: str = STARTING
    started_on: datetime = field(default_factory=utc_now)
    last_modified_on: datetime = field(default_factory=utc_now)
    completed_on: datetime | None = None
    error_message: str | None = None
    work_dir: Path | None = None
    argv: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    credentials: dict[str, str] = field(default_factory=dict)  # the role's STS session, with enforce_iam
    glue5_logs: bool = True  # the Glue 5 log layout (set from the settings when the run starts)

    def __getstate__(self) -> dict[str, Any]:
        """For the endpoint's saved state (persistence.py): no process, events only as whether they were set."""
        state = dict(self.__dict__)
        state["process"] = None
        state["stop_requested"] = self.stop_requested.is_set()
        state["finished"] = self.finished.is_set()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        stop_requested, finished = bool(state.pop("stop_requested", False)), bool(state.pop("finished", True))
        self.__dict__.update(state)
        self.stop_requested, self.finished = threading.Event(), threading.Event()
        if stop_requested:
            self.stop_requested.set()
        if finished:
            self.finished.set()

    @property
    def log_stream(self) -> str:
        return f"{self.job_run_id}-driver" if self.glue5_logs else self.job_run_id

    @property
    def log_path(self) -> Path | None:
        return self.work_dir / "driver.log" if self.work_dir else None

    def set_state(self, state: str, error_message: str | None = None) -> None:
        self.state = state
        self.last_modified_on = utc_now()
        if error_message is not None:
            self.error_message = error_message
        if state not in ACTIVE_STATES:
            self.completed_on = self.last_modified_on

    def as_dict(self) -> dict[str, Any]:
        """GetJobRun's JobRun."""
        end = self.completed_on or utc_now()
        data: dict[str, Any] = {
            "Id": self.job_run_id,
            "Attempt": self.attempt,
            "JobName": self.job_name,
            "JobMode": "SCRIPT",
            "StartedOn": self.started_on,
            "LastModifiedOn": self.last_modified_on,
            "JobRunState": self.state,
            "Arguments": dict(self.arguments),
            "PredecessorRuns": [],
            "ExecutionTime": int((end - self.started_on).total_seconds()),
            "Timeout": self.timeout_minutes,
            "LogGroupName": LOG_GROUP,
            "ExecutionClass": "STANDARD",
        }
        optional = {
            "CompletedOn": self.completed_on,
            "ErrorMessage": self.error_message,
            "PreviousRunId": self.previous_run_id,
            "TriggerName": self.started_by.trigger_name,
            "GlueVersion": self.glue_version,
            "WorkerType": self.worker_type,
            "NumberOfWorkers": self.number_of_workers,
            "MaxCapacity": self.max_capacity,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        return data

    def files(self) -> dict[str, Any]:
        """What `GET /_reconciler/job-runs/<id>` answers."""
        work = self.work_dir
        return {
            "job_name": self.job_name,
            "run_id": self.job_run_id,
            "state": self.state,
            "work_dir": str(work) if work else None,
            "log_path": str(self.log_path) if self.log_path else None,
            "stdout_path": str(work / "stdout.log") if work else None,
            "stderr_path": str(work / "stderr.log") if work else None,
            "argv": self.argv,
            "cloudwatch": {"output": f"{LOG_GROUP}/output", "error": f"{LOG_GROUP}/error",
                           "stream": self.log_stream},
        }


def uses_glue5_logs(glue_version: str | None, settings: Settings) -> bool:
    """Glue 5.0 and later log to `<run id>-driver` streams (an omitted version is the newest, as for the
    Timeout default in models.default_job_timeout_minutes)."""
    return bool(settings.glue5_log_layout) and default_job_timeout_minutes(glue_version) == 480


def runs_of(job: FakeJob) -> list[JobRun]:
    """Our runs of a job (moto's list holds them; it is typed for moto's FakeJobRun)."""
    runs: list[Any] = job.job_runs
    return [run for run in runs if isinstance(run, JobRun)]


def merged_arguments(job: FakeJob, run_arguments: dict[str, str] | None) -> dict[str, str]:
    """DefaultArguments, then the run's Arguments, then NonOverridableArguments (which always win)."""
    merged: dict[str, str] = dict(job.default_arguments or {})
    merged.update(run_arguments or {})
    merged.update(job.non_overridable_arguments or {})
    return merged


def glue_argv(job_name: str, run_id: str, arguments: dict[str, str]) -> list[str]:
    argv = ["--JOB_NAME", job_name, "--JOB_RUN_ID", run_id]
    for key, value in arguments.items():
        if key in ("--JOB_NAME", "--JOB_RUN_ID"):
            continue
        argv += [key if key.startswith("--") else f"--{key}", str(value)]
    return argv


_TRACEBACK_END = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b.*|^[A-Za-z_][\w.]*: .+")


def error_from_log(stderr_text: str, returncode: int) -> str:
    """The Python exception's last line ("ValueError: boom"), else the exit code and last stderr line."""
    lines = stderr_text.splitlines()
    start = max((index for index, line in enumerate(lines) if line.startswith("Traceback (most recent call")),
                default=None)
    if start is not None:
        for line in reversed(lines[start + 1 :]):
            if line and not line[0].isspace() and _TRACEBACK_END.match(line):
                return line.strip()
    tail = next((line.strip() for line in reversed(lines) if line.strip()), "")
    signal_note = f" (signal {-returncode})" if returncode < 0 else ""
    return f"Script exited with code {returncode}{signal_note}" + (f": {tail}" if tail else "")


class JobRuntime:
    """Runs job scripts in processes; one instance per endpoint process (see `job_runtime()`)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.listeners: list[Callable[[FakeJob, JobRun], None]] = []
        self._runs: dict[str, JobRun] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._own_root: Path | None = None

    # -- starting -------------------------------------------------------------------------------------

    def start(self, job: FakeJob, run_arguments: dict[str, str] | None = None, *,
              timeout: int | None = None, started_by: StartedBy | None = None,
              previous: JobRun | None = None, worker_type: str | None = None,
              number_of_workers: int | None = None, max_capacity: float | None = None,
              previous_run_id: str | None = None) -> JobRun:
        """Start a run (StartJobRun, a trigger, or a retry of `previous`); JobRunId = `previous_run_id`
        only records which run this one retries, as on AWS."""
        with self._lock:
            runs = runs_of(job)
            active = sum(1 for run in runs if run.state in ACTIVE_STATES)
            limit = int((job.execution_property or {}).get("MaxConcurrentRuns", 1) or 1)
            if previous is None and active >= limit:
                raise ConcurrentRunsExceededException(
                    f"Concurrent runs exceeded for {job.name}: {active} running, MaxConcurrentRuns is {limit}"
                )
            if previous is None:
                run_id = f"jr_{uuid.uuid4().hex}{uuid.uuid4().hex}"
                attempt = 0
            else:
                attempt = previous.attempt + 1
                run_id = f"{previous.job_run_id.split('_attempt_')[0]}_attempt_{attempt}"
            job_timeout = job.timeout if job.timeout else None
            run = JobRun(
                job_name=job.name,
                job_run_id=run_id,
                attempt=attempt,
                arguments=dict(run_arguments or {}) if previous is None else dict(previous.arguments),
                timeout_minutes=int(timeout or job_timeout or default_job_timeout_minutes(job.glue_version)),
                glue_version=job.glue_version,
                worker_type=worker_type or job.worker_type,
                number_of_workers=number_of_workers or job.number_of_workers,
                max_capacity=max_capacity or job.max_capacity,
                region=job.backend.region_name,
                glue5_logs=uses_glue5_logs(job.glue_version, self.runtime.settings),
                started_by=started_by or (previous.started_by if previous else StartedBy()),
                previous_run_id=previous.job_run_id if previous else previous_run_id,
            )
            all_runs: list[Any] = job.job_runs
            all_runs.append(run)
            self._runs[run_id] = run
            thread = threading.Thread(target=self._run, args=(job, run, self._generation), daemon=True,
                                      name=f"job-run-{job.name}")
            self._threads[run_id] = thread
        thread.start()
        return run

    def stop(self, run: JobRun) -> None:
        if run.state not in (STARTING, RUNNING):
            raise ValueError(f"Job run {run.job_run_id} is {run.state}, not running")
        run.set_state(STOPPING)
        run.stop_requested.set()

    def find(self, run_id: str) -> JobRun | None:
        return self._runs.get(run_id)

    # -- running --------------------------------------------------------------------------------------

    def work_root(self) -> Path:
        configured = self.runtime.settings.work_dir
        if configured:
            return Path(configured)
        if self._own_root is None:
            self._own_root = Path(tempfile.mkdtemp(prefix="reconciler-local-"))
        return self._own_root

    def _environment(self, run: JobRun, work_dir: Path) -> dict[str, str]:
        environment = dict(os.environ)
        environment.update({
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "PYSPARK_SUBMIT_ARGS": environment.get("RECONCILER_LOCAL_PYSPARK_SUBMIT_ARGS", SPARK_SUBMIT_ARGS),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "AWS_ENDPOINT_URL": self.runtime.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": run.region,
            "AWS_REGION": run.region,
            "PYTHONUNBUFFERED": "1",
            "GLUE_JOB_NAME": run.job_name,
            "GLUE_JOB_RUN_ID": run.job_run_id,
        })
        environment.pop("AWS_PROFILE", None)
        environment.pop("AWS_SESSION_TOKEN", None)
        environment.pop("AWS_SECURITY_TOKEN", None)  # botocore reads it before AWS_SESSION_TOKEN
        environment.update(run.credentials)
        python_path = [str(work_dir / "py")]
        if environment.get("PYTHONPATH"):
            python_path.append(environment["PYTHONPATH"])
        environment["PYTHONPATH"] = os.pathsep.join(python_path)
        # Under a uid without a passwd entry (containers), the JVM and Hadoop's login need one (identity.py).
        environment.update(identity.environment(work_dir, environment))
        return environment

    def _prepare(self, job: FakeJob, run: JobRun, work_dir: Path) -> tuple[list[str], Stager]:
        raw_command: Any = job.command
        command: dict[str, Any] = dict(raw_command or {})
        kind = command.get("Name") or "glueetl"
        settings = self.runtime.settings
        account_id = job.backend.account_id
        refused, role_arn = assume_problem(account_id, job.role, settings)
        if refused:
            raise RuntimeUnavailable(f"{ASSUME_ROLE_MESSAGE} Role: {role_arn}")
        check = role_check(account_id, job.role, settings, "GlueJobRunnerSession")
        if settings.enforce_iam:
            run.credentials = self._role_session(job, run)
        if kind == "gluestreaming":
            raise RuntimeUnavailable("Streaming jobs (gluestreaming) are not run by the local endpoint")
        if kind == "glueetl":
            check_spark_runtime(job.glue_version)
            try:
                identity.check()
            except identity.NoIdentity as error:
                raise RuntimeUnavailable(str(error)) from error
        location = command.get("ScriptLocation")
        if not location:
            raise RuntimeUnavailable("The job has no Command.ScriptLocation")
        store = S3Store(job.backend.account_id)
        bucket, key = split_uri(str(location))
        script = work_dir / "script" / (key.rsplit("/", 1)[-1] or "script.py")
        script.parent.mkdir(parents=True, exist_ok=True)
        check("s3:GetObject", s3_arn(bucket, key))
        try:
            script.write_bytes(store.read(bucket, key))
        except S3Error as error:
            raise RuntimeUnavailable(f"Script not found at {location}: {error}") from error
        stager = Stager(store, work_dir / "s3", check)
        arguments = merged_arguments(job, run.arguments)
        staged = {name: stager.stage_value(str(value)) for name, value in arguments.items()}
        extra_py = staged.get("--extra-py-files")
        (work_dir / "py").mkdir(exist_ok=True)
        if extra_py:
            for path in extra_py.split(","):
                if path.endswith(".py") and os.path.isfile(path):
                    shutil.copy(path, work_dir / "py")
        argv = [sys.executable, str(script), *glue_argv(job.name, run.job_run_id, staged)]
        return argv, stager

    @staticmethod
    def _role_session(job: FakeJob, run: JobRun) -> dict[str, str]:
        """Credentials of an STS session of the job's role (moto's STS backend), as Glue gives the script."""
        role = resolve_role(job.backend.account_id, job.role, strict=False)
        if role is None:
            return {}
        session = sts_backends()[job.backend.account_id]["aws"].assume_role(
            region_name=run.region, role_session_name="GlueJobRunnerSession", role_arn=role.arn,
            policy="", duration=int(run.timeout_minutes) * 60 + 3600, external_id="",
        )
        return {"AWS_ACCESS_KEY_ID": session.access_key_id, "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
                "AWS_SESSION_TOKEN": session.session_token}

    def _run(self, job: FakeJob, run: JobRun, generation: int) -> None:
        work_dir = self.work_root() / "job-runs" / run.job_run_id
        work_dir.mkdir(parents=True, exist_ok=True)
        run.work_dir = work_dir
        stager: Stager | None = None
        try:
            run.argv, stager = self._prepare(job, run, work_dir)
            if run.stop_requested.is_set():
                run.set_state(STOPPED)
            else:
                outcome, message = self._execute(run, work_dir)
                if outcome in (SUCCEEDED, FAILED):
                    # The run stays RUNNING until its outputs are in S3, so a client that sees
                    # SUCCEEDED can list them.
                    try:
                        mirrored = stager.mirror_back()
                        self._log(run, f"mirrored to S3: {len(mirrored.uploaded)} uploaded, "
                                       f"{len(mirrored.deleted)} deleted")
                    except Exception as error:
                        outcome, message = FAILED, f"Writing the outputs back to S3 failed: {error}"
                run.set_state(outcome, message)
        except (RuntimeUnavailable, S3Error, AccessDenied) as error:
            run.set_state(FAILED, str(error))
        except Exception as error:  # a bug of ours must still end the run, and say so
            log.error("job run %s crashed:\n%s", run.job_run_id, traceback.format_exc())
            run.set_state(FAILED, f"Internal error in the local job runner: {type(error).__name__}: {error}")
        finally:
            if run.state in ACTIVE_STATES:
                run.set_state(STOPPED if run.stop_requested.is_set() else FAILED)
            self._publish_logs(job, run)
            if not self.runtime.settings.keep_staged_data:
                shutil.rmtree(work_dir / "s3", ignore_errors=True)
            log.info("job run %s of %s ended %s%s", run.job_run_id, job.name, run.state,
                     f": {run.error_message}" if run.error_message else "")
            run.finished.set()
            with self._lock:
                self._threads.pop(run.job_run_id, None)
        if generation != self._generation:
            return
        if run.state in (FAILED, TIMEOUT) and run.attempt < int(job.max_retries or 0):
            try:
                self.start(job, previous=run)
                return  # the last attempt tells the listeners
            except Exception:
                log.error("retry of %s failed to start:\n%s", run.job_run_id, traceback.format_exc())
        for listener in list(self.listeners):
            try:
                listener(job, run)
            except Exception:
                log.error("job run listener failed:\n%s", traceback.format_exc())

    def _log(self, run: JobRun, message: str) -> None:
        if run.log_path is not None:
            with open(run.log_path, "a", encoding="utf-8") as handle:
                handle.write(f"{OWN_NOTE}{message}\n")

    def _execute(self, run: JobRun, work_dir: Path) -> tuple[str, str | None]:
        """Run the script to its end; the outcome and the error message (the state is set by the caller)."""
        combined = open(work_dir / "driver.log", "ab")  # noqa: SIM115 - closed after both pumps end
        lock = threading.Lock()
        run.set_state(RUNNING)
        # Through the guard, so the run's whole process group ends with the endpoint, even a SIGKILLed one.
        guarded = [sys.executable, str(RUN_GUARD), str(os.getpid()), "--", *run.argv]
        process = subprocess.Popen(guarded, cwd=work_dir, env=self._environment(run, work_dir),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
        run.process = process
        assert process.stdout is not None and process.stderr is not None
        pumps = [
            threading.Thread(target=_pump, args=(process.stdout, work_dir / "stdout.log", combined, lock),
                             daemon=True),
            threading.Thread(target=_pump, args=(process.stderr, work_dir / "stderr.log", combined, lock),
                             daemon=True),
        ]
        for pump in pumps:
            pump.start()
        deadline = time.monotonic() + run.timeout_minutes * self.runtime.settings.timeout_minute_seconds
        outcome: str | None = None
        while process.poll() is None:
            if run.stop_requested.is_set():
                outcome = STOPPED
                break
            if time.monotonic() > deadline:
                outcome = TIMEOUT
                break
            run.stop_requested.wait(0.1)
        if outcome is not None:
            _kill(process)
        for pump in pumps:
            pump.join(timeout=10)
        combined.close()
        if outcome == STOPPED:
            return STOPPED, None
        if outcome == TIMEOUT:
            return TIMEOUT, f"Job run timed out after {run.timeout_minutes} minute(s) (Timeout)"
        if process.returncode == 0:
            return SUCCEEDED, None
        stderr_text = (work_dir / "stderr.log").read_text(encoding="utf-8", errors="replace")
        return FAILED, error_from_log(stderr_text, process.returncode)

    def _publish_logs(self, job: FakeJob, run: JobRun) -> None:
        """Copy the driver's streams to the endpoint's CloudWatch Logs, as Glue does."""
        if run.work_dir is None:
            return
        try:
            logs = logs_backends()[job.backend.account_id][run.region]
            timestamp = int(time.time() * 1000)
            output_file = "driver.log" if run.glue5_logs else "stdout.log"
            for stream_file, group in ((output_file, f"{LOG_GROUP}/output"), ("stderr.log", f"{LOG_GROUP}/error")):
                path = run.work_dir / stream_file
                text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
                lines = [line for line in text.splitlines() if not line.startswith(OWN_NOTE)][-10000:]
                if group not in logs.groups:
                    logs.create_log_group(group, {})
                logs.ensure_log_stream(group, run.log_stream)
                events = [{"timestamp": timestamp, "message": line or " "} for line in lines]
                for start in range(0, len(events), 1000):
                    logs.put_log_events(group, run.log_stream, events[start : start + 1000])
        except Exception:
            log.warning("could not publish the logs of %s to CloudWatch:\n%s", run.job_run_id,
                        traceback.format_exc())

    # -- lifecycle ------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            runs = list(self._runs.values())
            threads = list(self._threads.values())
            self._runs.clear()
        for run in runs:
            run.stop_requested.set()
            if run.process is not None and run.process.poll() is None:
                _kill(run.process)
        for thread in threads:
            thread.join(timeout=15)

    def adopt_restored(self, message: str) -> None:
        """After the state was restored (persistence.py): index the runs (for the admin job-run routes); a run
        saved while active has no process any more, it ends FAILED with `message`."""
        for regions in list(glue_backends.values()):
            for backend in list(regions.values()):
                for job in list(backend.jobs.values()):
                    for run in runs_of(job):
                        if run.state in ACTIVE_STATES:
                            run.set_state(FAILED, message)
                        run.finished.set()
                        self._runs[run.job_run_id] = run

    def shutdown(self) -> None:
        for run in list(self._runs.values()):
            if run.state in ACTIVE_STATES and run.error_message is None:
                run.error_message = "Stopped because the local endpoint shut down"
        self.reset()
        if self._own_root is not None:
            shutil.rmtree(self._own_root, ignore_errors=True)


def _pump(source: IO[bytes], own_path: Path, combined: IO[bytes], lock: threading.Lock) -> None:
    with open(own_path, "ab") as own:
        for line in iter(source.readline, b""):
            own.write(line)
            with lock:
                combined.write(line)
                combined.flush()


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the run's process group (the script and its JVM), SIGKILL what is left after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


_instance: JobRuntime | None = None


def job_runtime() -> JobRuntime:
    if _instance is None:
        raise RuntimeError("the job runtime is not installed (reconciler_local.install)")
    return _instance


class FakeJobRuntimeAdditions(FakeJob):
    def start_job_run(
        self,
        allocated_capacity: int | None,
        max_capacity: float | None,
        timeout: int | None,
        worker_type: str | None,
        security_configuration: str | None,
        number_of_workers: int | None,
        notification_property: dict[str, int] | None,
        previous_run_id: str | None,
        arguments: dict[str, str] | None,
    ) -> str:
        run = job_runtime().start(self, arguments, timeout=timeout, worker_type=worker_type,
                                  number_of_workers=number_of_workers, max_capacity=max_capacity,
                                  previous_run_id=previous_run_id)
        return run.job_run_id

    def get_job_run(self, run_id: str) -> Any:
        for run in runs_of(self):
            if run.job_run_id == run_id:
                return run
        raise JobRunNotFoundException(run_id)

    def get_job_runs(self) -> Any:
        return sorted(runs_of(self), key=lambda run: run.started_on, reverse=True)  # newest first, as AWS


class GlueBackendJobAdditions(GlueBackend):
    def batch_stop_job_run(self, job_name: str, run_ids: list[str]) -> tuple[list[dict[str, Any]],
                                                                             list[dict[str, Any]]]:
        job = self.get_job(job_name)
        stopped: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for run_id in run_ids:
            run = next((r for r in runs_of(job) if r.job_run_id == run_id), None)
            if run is None:
                errors.append({"JobName": job_name, "JobRunId": run_id, "ErrorDetail": {
                    "ErrorCode": "EntityNotFoundException", "ErrorMessage": f"Job run {run_id} not found."}})
                continue
            try:
                job_runtime().stop(run)
            except ValueError as error:
                errors.append({"JobName": job_name, "JobRunId": run_id, "ErrorDetail": {
                    "ErrorCode": "InvalidInputException", "ErrorMessage": str(error)}})
                continue
            stopped.append({"JobName": job_name, "JobRunId": run_id})
        return stopped, errors


class GlueResponseJobAdditions(GlueResponse):
    def batch_stop_job_run(self) -> ActionResult:
        stopped, errors = self.glue_backend.batch_stop_job_run(  # type: ignore[attr-defined]
            request_params(self).get("JobName"), request_params(self).get("JobRunIds") or []
        )
        return ActionResult({"SuccessfulSubmissions": stopped, "Errors": errors})


def install(runtime: Runtime) -> JobRuntime:
    global _instance
    if _instance is None:
        graft(FakeJob, FakeJobRuntimeAdditions)
        graft(GlueBackend, GlueBackendJobAdditions)
        graft(GlueResponse, GlueResponseJobAdditions)
        _instance = JobRuntime(runtime)
        runtime.register(_instance)
    return _instance
