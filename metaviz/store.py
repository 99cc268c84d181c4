"""The run store: every run's config, metrics, evaluations and checkpoints, kept across restarts.

    store = Store()                       # $METAVIZ_HOME, else ~/.local/share/metaviz
    for record in store.runs(learner="maml", status="done"):
        history = store.history(record.id)          # numpy curves, as the live worker gives them

Layout of the data folder::

    runs.sqlite                  SQLite in WAL mode: tables runs, metrics, evals, checkpoints
    checkpoints/<run id>/step-00000100.safetensors         parameters (metaviz.checkpoint)
    checkpoints/<run id>/step-00000100.state.safetensors   baseline and optimizer state, for exact resumes

Why SQLite in WAL mode: one file, no server, and readers never block the one writer (nor the
writer them), so the app can draw a run that ``python -m metaviz train`` is writing. Every
change is one transaction, so a process killed mid-write leaves the database as it was before
that transaction, never half-written.

Two kinds of run share the table (the ``kind`` column): "meta", a meta-training run whose config is a
:class:`~metaviz.train.RunConfig` (its ``learner`` column the meta-learner, its steps meta-iterations), and
"automl", a search whose config is a :class:`~metaviz.automl.search.AutoMLConfig` (``learner`` names the search
method, steps are outer steps; ``result`` holds the chosen hyperparameters or derived cell and their test scores).
Both record the same way: metrics per step, a status, an owner. Why one table: the Runs page, the filters,
exports and the CLI then list, compare and hand on every run alike (schema 2 added ``kind`` and ``result``;
a schema-1 file gains them, as "meta" runs, when it is opened).

Who holds a run: the process that writes it records its pid, host name, a random token and a
heartbeat (every few seconds, from a thread, so a paused or slow step still beats). A run left
"running" or "paused" whose owner is gone (same host and the pid no longer exists, or no
heartbeat for :data:`STALE_S` seconds) is marked "interrupted" the next time anyone opens the
store or lists runs; it can then be resumed from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import metaviz
from metaviz.messages import run_message

SCHEMA_VERSION = 2
HEARTBEAT_S = 5.0    # how often an owner says it is alive
STALE_S = 60.0       # no heartbeat for this long: the owner is gone (another host, or a hung process)
STATUSES = ("running", "paused", "stopped", "done", "diverged", "error", "interrupted")
HELD = ("running", "paused")  # statuses that need a live owner
TRAIN_KEYS = ("loss", "baseline_loss", "tasks_per_second")  # per-step metrics; the rest are evaluations
KINDS = ("meta", "automl")  # meta-training runs (RunConfig) and AutoML searches (AutoMLConfig)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL,
    learner TEXT NOT NULL,
    config TEXT NOT NULL,               -- RunConfig.to_dict() as JSON
    seed INTEGER NOT NULL,
    version TEXT NOT NULL,              -- metaviz.__version__
    git_commit TEXT,                    -- the checkout's commit (+ "-dirty"), NULL outside git
    device TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',   -- the error, or why it was interrupted
    step INTEGER NOT NULL DEFAULT 0,
    n_steps INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    heartbeat REAL NOT NULL,
    wall_time REAL NOT NULL DEFAULT 0,  -- seconds spent training (pauses excluded)
    peak_rss INTEGER,                   -- bytes, the writing process's peak resident memory
    peak_device INTEGER,                -- bytes, peak accelerator memory allocated (CUDA)
    owner_pid INTEGER,
    owner_host TEXT,
    owner_token TEXT,
    source TEXT NOT NULL DEFAULT '',    -- cli, app, import
    group_id TEXT,                      -- repeats of one setup with several seeds
    parent TEXT,                        -- the run this one was imported or repeated from
    kind TEXT NOT NULL DEFAULT 'meta',  -- one of KINDS: what the config is and what the steps count
    result TEXT                         -- JSON: what the run chose (an AutoML search's hyperparameters or cell)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, name, step);
CREATE TABLE IF NOT EXISTS evals (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    inner_steps INTEGER NOT NULL,
    curves TEXT NOT NULL,               -- {"val": {"loss": [...], "accuracy": [...] or null}, ...}
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    path TEXT NOT NULL,                 -- relative to the data folder
    state TEXT,                         -- relative path of the training state (optimizers), if saved
    created REAL NOT NULL,
    PRIMARY KEY (run_id, step)
);
"""

_RUN_COLUMNS = ("id", "name", "task", "learner", "config", "seed", "version", "git_commit", "device", "status",
                "message", "step", "n_steps", "created", "updated", "heartbeat", "wall_time", "peak_rss",
                "peak_device", "owner_pid", "owner_host", "owner_token", "source", "group_id", "parent", "kind",
                "result")
_ADDED_IN_2 = (("kind", "TEXT NOT NULL DEFAULT 'meta'"), ("result", "TEXT"))


class StoreError(ValueError):
    """A request the store cannot carry out (unknown run, run held elsewhere); the message says what to do."""


def default_home() -> Path:
    """``$METAVIZ_HOME``, else ``$XDG_DATA_HOME/metaviz``, else ``~/.local/share/metaviz``."""
    if os.environ.get("METAVIZ_HOME"):
        return Path(os.environ["METAVIZ_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "metaviz"


@functools.lru_cache(maxsize=1)
def code_version() -> tuple[str, str | None]:
    """(metaviz version, git commit with "-dirty" when tracked files changed), the commit None when the
    package is not in a git checkout or git is missing."""
    root = Path(metaviz.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return metaviz.__version__, None
    return metaviz.__version__, (commit + "-dirty" if dirty else commit) or None


def config_class(kind: str):
    """The config dataclass of a run kind: what a stored ``config`` JSON is read back as (imports torch)."""
    if kind == "automl":
        from metaviz.automl.search import AutoMLConfig

        return AutoMLConfig
    if kind == "meta":
        from metaviz.train import RunConfig

        return RunConfig
    raise StoreError(f"unknown kind of run {kind!r}; one of {KINDS}")


def identity(kind: str, config: dict) -> tuple[str, str, int]:
    """(task, learner column, planned steps) of a config dict of ``kind``: a meta run names its learner and
    its meta-iterations, an AutoML search its method and outer steps."""
    if kind not in KINDS:
        raise StoreError(f"unknown kind of run {kind!r}; one of {KINDS}")
    if kind == "automl":
        return config["task"], config["method"], int(config.get("outer_steps", 0))
    return config["task"], config["learner"], int(config.get("train", {}).get("n_steps", 0))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@dataclass(frozen=True)
class RunRecord:
    """One row of the runs table."""

    id: str
    name: str
    task: str
    learner: str
    config: dict
    seed: int
    version: str
    git_commit: str | None
    device: str
    status: str
    message: str
    step: int
    n_steps: int
    created: float
    updated: float
    heartbeat: float
    wall_time: float
    peak_rss: int | None
    peak_device: int | None
    owner_pid: int | None
    owner_host: str | None
    owner_token: str | None = field(repr=False, default=None)
    source: str = ""
    group_id: str | None = None
    parent: str | None = None
    kind: str = "meta"
    result: dict | None = None

    def run_config(self):
        """The run's config: a :class:`~metaviz.train.RunConfig`, or an AutoMLConfig (imports torch)."""
        return config_class(self.kind).from_dict(self.config)

    def to_json(self) -> dict:
        """A plain dict for ``runs --json`` and exports (no owner token)."""
        out = {k: getattr(self, k) for k in _RUN_COLUMNS if k != "owner_token"}
        out["created_iso"] = _iso(self.created)
        out["updated_iso"] = _iso(self.updated)
        return out


@dataclass(frozen=True)
class History:
    """A run's curves as numpy arrays, keyed like the live worker's snapshot.

    ``train``: ``step`` and :data:`TRAIN_KEYS`; ``evals``: ``step`` and every evaluation scalar
    (``val_loss``, ``baseline_val_accuracy``, ...), NaN where a step lacks one."""

    train: dict[str, np.ndarray]
    evals: dict[str, np.ndarray]

    def final(self) -> dict[str, float]:
        """The last finite value of every evaluation scalar, and the last meta-batch loss as ``step_loss``."""
        out = {}
        for source, keys in ((self.evals, [k for k in self.evals if k != "step"]), (self.train, ["loss"])):
            for key in keys:
                values = source.get(key, np.zeros(0))
                finite = values[np.isfinite(values)]
                if finite.size:
                    out[key if source is self.evals else "step_" + key] = float(finite[-1])
        return out


@dataclass(frozen=True)
class CheckpointRecord:
    step: int
    path: Path                 # absolute
    state: Path | None         # training state (baseline, optimizers), or None: parameters only
    created: float


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Store:
    """The run store in one data folder. Cheap to create; safe to use from several threads and
    processes at once (each call opens its own short-lived connection)."""

    def __init__(self, home: str | Path | None = None, reap: bool = True):
        self.home = Path(home).expanduser() if home is not None else default_home()
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create the data folder {self.home}: {error}. Set METAVIZ_HOME (or "
                             "--home) to a folder you can write to.") from None
        self.path = self.home / "runs.sqlite"
        self._local = threading.local()
        mode, current = self._open_wal()
        if mode.lower() != "wal":  # e.g. a network file system: readers would wait for the writer
            raise StoreError(f"{self.path}: SQLite could not switch to WAL mode (got {mode!r}); put the data "
                             "folder on a local disk (METAVIZ_HOME)")
        if current != SCHEMA_VERSION:  # a new database (or an old schema): no write lock on every open
            self._create_schema()
        if reap:
            self.reap()

    def _open_wal(self, patience: float = 30.0) -> tuple[str, int]:
        """Switch a (possibly new) database to WAL mode; returns (journal mode, schema version).

        Several processes may open a new store at the same moment (``torchrun`` starts its ranks
        together). The switch needs an exclusive lock and SQLite answers "database is locked" at once
        instead of waiting in its busy handler, so wait and try again here, up to ``patience`` seconds."""
        deadline = time.monotonic() + patience
        delay = 0.01
        while True:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            try:  # outside a transaction: the journal mode cannot change inside one
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if mode.lower() != "wal":
                    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                return mode, conn.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise StoreError(f"{self.path}: {error}") from None
            finally:
                conn.close()
            time.sleep(delay)
            delay = min(2 * delay, 0.5)

    def _create_schema(self) -> None:
        with self.connect() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer metaviz (schema {version}); upgrade metaviz")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
            for name, declaration in _ADDED_IN_2:  # a schema-1 file: its runs are all meta-training runs
                if name not in columns:
                    conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {declaration}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # ---- connections --------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Writes take the write lock at BEGIN (IMMEDIATE): a deferred transaction that reads, then
        writes after another writer committed, fails with "database is locked" instead of waiting."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, kept open: closing the last connection to a WAL database checkpoints
        and removes the WAL, which cost ~13 ms per write when every transaction opened its own."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable at checkpoints, never corrupt
            self._local.conn = conn
        return conn

    def _read(self, sql: str, args: Iterable = ()) -> list[tuple]:
        with self.connect(write=False) as conn:
            return conn.execute(sql, tuple(args)).fetchall()

    # ---- runs ---------------------------------------------------------------------------------
    def create_run(self, config: dict, *, device: str = "", source: str = "", name: str = "",
                   status: str = "running", run_id: str | None = None, owner_token: str | None = None,
                   group_id: str | None = None, parent: str | None = None, version: str | None = None,
                   git_commit: str | None = None, kind: str = "meta") -> str:
        """Insert a run (``config`` is ``RunConfig.to_dict()``, or ``AutoMLConfig.to_dict()`` with ``kind``
        "automl") and return its id (8 hex digits)."""
        if status not in STATUSES:
            raise StoreError(f"unknown status {status!r}; one of {STATUSES}")
        task, learner, n_steps = identity(kind, config)
        own_version, own_commit = code_version()
        now = time.time()
        for _ in range(20):
            rid = run_id or secrets.token_hex(4)
            try:
                with self.connect() as conn:
                    conn.execute(
                        "INSERT INTO runs (id, name, task, learner, config, seed, version, git_commit, device, "
                        "status, step, n_steps, created, updated, heartbeat, owner_pid, owner_host, owner_token, "
                        "source, group_id, parent, kind) VALUES (?,?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?,?,?,?)",
                        (rid, name, task, learner, json.dumps(config), int(config.get("seed", 0)),
                         version or own_version, git_commit if version else own_commit, device, status,
                         n_steps, now, now, now,
                         os.getpid() if owner_token else None, socket.gethostname() if owner_token else None,
                         owner_token, source, group_id, parent, kind))
                return rid
            except sqlite3.IntegrityError:
                if run_id is not None:
                    raise StoreError(f"a run with id {run_id!r} already exists in {self.path}") from None
        raise StoreError("could not find a free run id")  # pragma: no cover - 2^32 ids

    def resolve(self, run_id: str) -> str:
        """The full id of the run whose id is or starts with ``run_id``."""
        run_id = str(run_id).strip()
        if not run_id:
            raise StoreError("empty run id; `python -m metaviz runs` lists them")
        escaped = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._read("SELECT id FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id",
                          (run_id, escaped + "%"))
        ids = [r[0] for r in rows]
        if run_id in ids:
            return run_id
        if not ids:
            raise StoreError(f"no run {run_id!r} in {self.home}; `python -m metaviz runs` lists the runs "
                             "(METAVIZ_HOME or --home chooses the data folder)")
        if len(ids) > 1:
            raise StoreError(f"run id {run_id!r} is ambiguous: {', '.join(ids[:5])}; give more characters")
        return ids[0]

    def exists(self, run_id: str) -> bool:
        """Whether a run has exactly this id."""
        return bool(self._read("SELECT 1 FROM runs WHERE id = ?", (run_id,)))

    def get(self, run_id: str) -> RunRecord:
        rid = self.resolve(run_id)
        rows = self._read(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE id = ?", (rid,))
        return self._record(rows[0])

    def runs(self, task: str | None = None, learner: str | None = None, status: str | None = None,
             group_id: str | None = None, kind: str | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally filtered."""
        self.reap()
        where, args = [], []
        for column, value in (("task", task), ("learner", learner), ("status", status), ("group_id", group_id),
                              ("kind", kind)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._record(r) for r in self._read(sql + " ORDER BY created DESC, id", args)]

    @staticmethod
    def _record(row: tuple) -> RunRecord:
        values = dict(zip(_RUN_COLUMNS, row))
        values["config"] = json.loads(values["config"])
        values["result"] = None if values["result"] is None else json.loads(values["result"])
        return RunRecord(**values)

    def update(self, run_id: str, token: str | None = None, **fields) -> None:
        """Set columns of a run; with ``token``, only while that token still owns it (else StoreError)."""
        bad = set(fields) - set(_RUN_COLUMNS)
        if bad or "id" in fields or "kind" in fields:
            raise StoreError(f"cannot update {sorted(bad | ({'id', 'kind'} & set(fields)))}")
        for key in ("config", "result"):
            if isinstance(fields.get(key), dict):
                fields[key] = json.dumps(fields[key])
        fields.setdefault("updated", time.time())
        with self.connect() as conn:
            self._update(conn, run_id, token, fields)

    @staticmethod
    def _update(conn: sqlite3.Connection, run_id: str, token: str | None, fields: dict) -> None:
        sql = "UPDATE runs SET " + ", ".join(f"{k} = ?" for k in fields) + " WHERE id = ?"
        args = [*fields.values(), run_id]
        if token is not None:
            sql += " AND owner_token = ?"
            args.append(token)
        if conn.execute(sql, args).rowcount != 1:
            if token is not None:
                raise StoreError(f"run {run_id} is no longer held by this process (it was deleted, or resumed "
                                 "elsewhere); this process stops writing to it")
            raise StoreError(f"no run {run_id!r}")

    def claim(self, run_id: str, token: str, status: str = "running") -> RunRecord:
        """Take ownership of a run that nobody live holds (to resume it); StoreError if one does."""
        self.reap()
        rid = self.resolve(run_id)
        with self.connect() as conn:
            row = conn.execute(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE id = ?", (rid,)).fetchone()
            record = self._record(row)
            if record.status in HELD and self._owner_alive(record):
                raise StoreError(f"run {rid} is {record.status} in process {record.owner_pid} on "
                                 f"{record.owner_host}; stop it there first (or wait {STALE_S:.0f} s after that "
                                 "process ends)")
            now = time.time()
            self._update(conn, rid, None, dict(status=status, message="", owner_pid=os.getpid(),
                                               owner_host=socket.gethostname(), owner_token=token,
                                               heartbeat=now, updated=now))
        return self.get(rid)

    def heartbeat(self, run_id: str, token: str) -> None:
        now = time.time()
        self.update(run_id, token, heartbeat=now, updated=now)

    def beat_until(self, run_id: str, token: str, stop: threading.Event) -> StoreError | None:
        """A writer's heartbeat thread: beat every HEARTBEAT_S until ``stop`` is set. Returns the StoreError that
        ended it early (the run was deleted or taken over: the writer must stop), else None."""
        while not stop.wait(HEARTBEAT_S):
            try:
                self.heartbeat(run_id, token)
            except StoreError as error:
                return error
            except Exception:  # noqa: BLE001, S112 - a busy database: beat again next time
                continue
        return None

    def release(self, run_id: str, token: str, status: str, message: str = "", **fields) -> None:
        """The owner is done with the run: final status, and no owner any more."""
        if status not in STATUSES or status in HELD:
            raise StoreError(f"a released run cannot be {status!r}")
        self.update(run_id, token, status=status, message=message, owner_pid=None, owner_host=None,
                    owner_token=None, **fields)

    @staticmethod
    def _owner_alive(record: RunRecord, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if record.owner_host == socket.gethostname() and record.owner_pid is not None:
            if not _pid_alive(record.owner_pid):
                return False
        return now - record.heartbeat <= STALE_S

    def reap(self) -> list[str]:
        """Mark runs whose owner is gone as interrupted; returns their ids."""
        held = self._read(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE status IN ({','.join('?' * len(HELD))})",
                          HELD)
        now, gone = time.time(), []
        for row in held:
            record = self._record(row)
            if self._owner_alive(record, now):
                continue
            why = run_message("msg_run.interrupted", pid=str(record.owner_pid), host=str(record.owner_host),
                              status=record.status, step=str(record.step))
            with self.connect() as conn:  # only if nobody claimed or beat in the meantime
                changed = conn.execute(
                    "UPDATE runs SET status='interrupted', message=?, owner_pid=NULL, owner_host=NULL, "
                    "owner_token=NULL, updated=? WHERE id=? AND heartbeat=? AND status=?",
                    (why, now, record.id, record.heartbeat, record.status)).rowcount
            if changed:
                gone.append(record.id)
        return gone

    def delete(self, run_id: str, force: bool = False) -> None:
        """Delete a run, its metrics and its checkpoint files. A run held by a live process is refused
        unless ``force`` (its writer then stops with a clear error at its next write)."""
        record = self.get(run_id)
        if record.status in HELD and self._owner_alive(record) and not force:
            raise StoreError(f"run {record.id} is {record.status} in process {record.owner_pid} on "
                             f"{record.owner_host}; stop it first")
        with self.connect() as conn:
            conn.execute("DELETE FROM runs WHERE id = ?", (record.id,))
        shutil.rmtree(self.checkpoint_dir(record.id), ignore_errors=True)

    # ---- metrics and evaluations --------------------------------------------------------------
    def add_metrics(self, run_id: str, rows: Iterable[tuple[int, str, float | None]],
                    evals: Iterable[tuple[int, int, dict]] = (), token: str | None = None, **fields) -> None:
        """Append metric rows (step, name, value) and evaluations (step, inner_steps, curves) in one
        transaction, updating run columns (step, wall_time, ...) in the same one."""
        clean = [(run_id, int(s), str(n), None if v is None or not math.isfinite(v) else float(v)) for s, n, v in rows]
        with self.connect() as conn:
            fields.setdefault("updated", time.time())
            if token is not None:
                fields.setdefault("heartbeat", fields["updated"])
            self._update(conn, run_id, token, fields)  # first: refuse before writing anything
            conn.executemany("INSERT INTO metrics (run_id, step, name, value) VALUES (?,?,?,?)", clean)
            conn.executemany("INSERT OR REPLACE INTO evals (run_id, step, inner_steps, curves) VALUES (?,?,?,?)",
                             [(run_id, int(s), int(i), json.dumps(c)) for s, i, c in evals])

    def truncate(self, run_id: str, step: int, token: str | None = None) -> None:
        """Forget everything a run recorded after ``step`` (before resuming from a checkpoint there)."""
        with self.connect() as conn:
            self._update(conn, run_id, token, dict(step=int(step), updated=time.time()))
            conn.execute("DELETE FROM metrics WHERE run_id = ? AND step > ?", (run_id, step))
            conn.execute("DELETE FROM evals WHERE run_id = ? AND step > ?", (run_id, step))
            conn.execute("DELETE FROM checkpoints WHERE run_id = ? AND step > ?", (run_id, step))

    def history(self, run_id: str) -> History:
        """The run's metrics pivoted into aligned arrays (see :class:`History`)."""
        rows = self._read("SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step, rowid",
                          (self.resolve(run_id),))
        return History(*_pivot(rows))

    def finals(self, run_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        """For each run, the last value of every metric (as :meth:`History.final` names them), without
        reading whole histories: a list of many runs stays quick."""
        ids = list(run_ids)
        out: dict[str, dict[str, float]] = {i: {} for i in ids}
        for start in range(0, len(ids), 500):  # SQLite caps the number of parameters
            chunk = ids[start:start + 500]
            # SQLite: with MAX(), the bare columns come from the row holding the maximum
            rows = self._read(f"SELECT run_id, name, value, MAX(step) FROM metrics WHERE value IS NOT NULL AND "
                              f"run_id IN ({','.join('?' * len(chunk))}) GROUP BY run_id, name", chunk)
            for run_id, name, value, _ in rows:
                if name == "loss":
                    out[run_id]["step_loss"] = value
                elif name not in TRAIN_KEYS:
                    out[run_id][name] = value
        return out

    def evals(self, run_id: str) -> list[tuple[int, int, dict]]:
        """Every evaluation: (step, the learner's inner steps, curves by name: {"loss": [...], "accuracy": ...})."""
        rows = self._read("SELECT step, inner_steps, curves FROM evals WHERE run_id = ? ORDER BY step",
                          (self.resolve(run_id),))
        return [(s, i, json.loads(c)) for s, i, c in rows]

    # ---- checkpoints --------------------------------------------------------------------------
    def checkpoint_dir(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", ".."):
            raise StoreError(f"bad run id {run_id!r}")
        return self.home / "checkpoints" / run_id

    def checkpoint_paths(self, run_id: str, step: int) -> tuple[Path, Path]:
        """Where the parameters and the training state of ``run_id`` at ``step`` go."""
        folder = self.checkpoint_dir(run_id)
        return folder / f"step-{step:08d}.safetensors", folder / f"step-{step:08d}.state.safetensors"

    def add_checkpoint(self, run_id: str, step: int, path: Path, state: Path | None = None,
                       token: str | None = None) -> None:
        """Record a checkpoint file already written (atomically) under the data folder."""
        rel = [None if p is None else str(Path(p).resolve().relative_to(self.home.resolve())) for p in (path, state)]
        now = time.time()
        with self.connect() as conn:
            self._update(conn, run_id, token, dict(updated=now) | (dict(heartbeat=now) if token else {}))
            conn.execute("INSERT OR REPLACE INTO checkpoints (run_id, step, path, state, created) VALUES "
                         "(?,?,?,?,?)", (run_id, int(step), rel[0], rel[1], now))

    def remove_checkpoint(self, run_id: str, step: int, token: str | None = None) -> None:
        """Forget one checkpoint and delete its files (the row first: a crash leaves a stray file, never a
        row pointing at nothing)."""
        found = [c for c in self.checkpoints(run_id) if c.step == step]
        with self.connect() as conn:
            self._update(conn, run_id, token, dict(updated=time.time()))
            conn.execute("DELETE FROM checkpoints WHERE run_id = ? AND step = ?", (run_id, int(step)))
        for c in found:
            for path in (c.path, c.state):
                if path is not None:
                    path.unlink(missing_ok=True)

    def checkpoints(self, run_id: str) -> list[CheckpointRecord]:
        """The run's checkpoints whose files exist, oldest first."""
        rows = self._read("SELECT step, path, state, created FROM checkpoints WHERE run_id = ? ORDER BY step",
                          (self.resolve(run_id),))
        out = []
        for step, path, state, created in rows:
            full = self.home / path
            if full.is_file():
                extra = self.home / state if state and (self.home / state).is_file() else None
                out.append(CheckpointRecord(step, full, extra, created))
        return out

    def last_checkpoint(self, run_id: str) -> CheckpointRecord | None:
        found = self.checkpoints(run_id)
        return found[-1] if found else None


def _pivot(rows: list[tuple[int, str, float | None]]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(step, name, value) rows to two aligned tables: per-step training metrics and evaluations."""
    tables: dict[bool, dict[int, dict[str, float]]] = {True: {}, False: {}}
    names: dict[bool, list[str]] = {True: list(TRAIN_KEYS), False: []}
    for step, name, value in rows:
        is_train = name in TRAIN_KEYS
        tables[is_train].setdefault(step, {})[name] = np.nan if value is None else value
        if name not in names[is_train]:
            names[is_train].append(name)
    out = []
    for is_train in (True, False):
        steps = sorted(tables[is_train])
        table = {"step": np.asarray(steps, float)}
        for name in names[is_train]:
            table[name] = np.asarray([tables[is_train][s].get(name, np.nan) for s in steps], float)
        out.append(table)
    return out[0], out[1]
