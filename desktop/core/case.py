# SPDX-License-Identifier: GPL-3.0-or-later
"""A case on disk: the ``NAME.casetrail/`` folder, its database, its vault and its writer lock.

Opening a case checks it before trusting it: the schema is brought up to date, ``PRAGMA
integrity_check`` runs, and leftovers of a crash (temp files, blobs no item names) are reported
and handled — kept or quarantined, recorded in custody, never silently deleted. One process holds
the ``lock`` file and may write; any other opener gets a read-only case that says why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from desktop.core import custody, state, store
from desktop.core.errors import (
    CaseOpenError,
    CaseWriteError,
    ReadOnlyCaseError,
    SchemaUpgradeNeeded,
    database_reason,
)
from desktop.core.vault import Vault, sha256_on_disk

SUFFIX = ".casetrail"
DB_NAME = "case.sqlite"
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")


@dataclass(frozen=True)
class Item:
    """One piece of evidence as the case records it.

    ``same_as`` names the item whose analysis (and exhibits) this one shares because it holds the
    same content (None: this item's own analysis, or not analysed yet).
    """

    id: int
    parent_id: int | None
    kind: str
    name: str
    source_path: str
    size: int
    sha256: str
    sha1: str
    md5: str
    mime: str
    magic: str
    ext_mismatch: bool
    acquired_at: str
    acquired_by: str
    status: str
    derived_how: str | None
    same_as: int | None = None
    name_bytes: bytes | None = None  # the exact name when it is not UTF-8 (desktop.core.names)
    source_bytes: bytes | None = None

    @property
    def analysis_id(self) -> int:
        """The item whose findings (message, media, OCR lines) describe this one's content."""
        return self.same_as if self.same_as is not None else self.id

    def to_json(self) -> dict[str, Any]:
        """The ``items --json`` shape of the CLI contract, plus the extra facts we know."""
        # Every field is a scalar: a shallow read, not dataclasses.asdict's recursive deep copy
        # (measured: the larger part of printing the import report of 84,000 items).
        out = {name: getattr(self, name) for name in ITEM_COLUMNS}
        out["ext_mismatch"] = bool(self.ext_mismatch)
        for key in ("name_bytes", "source_bytes"):  # only for names that are not UTF-8, in hex
            raw = out.pop(key)
            if raw is not None:
                out[key] = bytes(raw).hex()
        return out


ITEM_COLUMNS = tuple(Item.__dataclass_fields__)


def item_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Item:
    """Build an :class:`Item` from a row selected with :data:`ITEM_COLUMNS`."""
    values = dict(zip(ITEM_COLUMNS, tuple(row), strict=True))
    values["ext_mismatch"] = bool(values["ext_mismatch"])
    return Item(**values)


def _probe_version(dbfile: Path) -> int:
    """Read the schema version without writing a byte (no WAL switch, no migration)."""
    probe = store.connect(dbfile, read_only=True)
    try:
        return store.schema_version(probe)
    finally:
        probe.conn.close()


class Case:
    """An open case. Use :meth:`create` or :meth:`open`; close it (or use ``with``).

    Attributes:
        path: the case folder.
        db: the database (read-only connection when ``read_only``).
        vault: the blob store.
        read_only: whether this process may not write.
        read_only_reason: one sentence on why, empty when writable.
        examiner: who is acting, recorded in every custody entry.
        recovery: what the check on open found and did, one sentence each.
        integrity_problems: what ``PRAGMA integrity_check`` found on open (empty: none).
    """

    def __init__(self, path: Path, db: store.Database, lock: FileLock | None, reason: str,
                 examiner: str | None) -> None:
        self.path = path
        self.db = db
        self._lock = lock
        self.read_only = lock is None
        self.read_only_reason = reason
        self.vault = Vault(path / "vault")
        self.meta = {r[0]: r[1] for r in db.execute("SELECT key, value FROM case_meta")}
        self.examiner = examiner or self.meta.get("examiner", "unknown examiner")
        self.recovery: list[str] = []
        self.integrity_problems: list[str] = []
        self._write_mutex = threading.RLock()

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, *, title: str, examiner: str, tlp: str = "amber") -> Case:
        """Create a new, empty case folder.

        Raises:
            CaseOpenError: the folder exists already, or the TLP level is unknown.
        """
        if tlp not in TLP_LEVELS:
            raise CaseOpenError(f"unknown TLP level {tlp!r}; use one of {', '.join(TLP_LEVELS)}")
        if not title.strip() or not examiner.strip():
            raise CaseOpenError("a case needs a title and an examiner name")
        if path.exists():
            raise CaseOpenError(f"{path} exists already; choose a new folder for the case")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir()
            Vault(path / "vault").ensure()
            (path / "exports").mkdir()
        except OSError as exc:
            raise CaseOpenError(f"cannot create the case at {path}: {exc.strerror}") from exc
        lock = FileLock(str(path / "lock"), timeout=0, thread_local=False)
        lock.acquire()
        db = store.connect(path / DB_NAME, read_only=False)
        store.migrate(db)
        case_id = str(uuid.uuid4())
        meta = {"case_id": case_id, "title": title, "examiner": examiner, "tlp": tlp,
                "created_at": custody.utc_now(), "created_with": custody.tool_id()}
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO case_meta (key, value) VALUES (?, ?)", meta.items())
        custody.append(conn, action="created", examiner=examiner, detail=meta,
                       state=[state.row_change(conn, "case_meta", k) for k in meta])
        conn.execute("COMMIT")
        case = cls(path, db, lock, "", examiner)
        return case

    @classmethod
    def open(cls, path: Path, *, examiner: str | None = None, read_only: bool = False) -> Case:
        """Open an existing case, checking it first.

        Args:
            path: the case folder.
            examiner: who is acting now; defaults to the case's examiner.
            read_only: do not take the writer lock even if it is free.

        Raises:
            CaseOpenError: the folder is not a Casetrail case or cannot be read.
        """
        dbfile = path / DB_NAME
        if not path.is_dir() or not dbfile.is_file():
            raise CaseOpenError(f"{path} is not a Casetrail case (no {DB_NAME} inside)")
        lock: FileLock | None = None
        reason = "opened read-only on request" if read_only else ""
        if not read_only:
            candidate = FileLock(str(path / "lock"), timeout=0, thread_local=False)
            try:
                candidate.acquire()
                lock = candidate
            except Timeout:
                reason = ("another Casetrail window or process is writing to this case; "
                          "opened read-only")
            except OSError as exc:
                reason = f"the case folder is not writable ({exc.strerror}); opened read-only"
        try:
            if dbfile.stat().st_size == 0 or _probe_version(dbfile) == 0:
                # An empty or foreign file in place of the database: never give it a fresh schema
                # (that would turn a replaced database into an "intact", empty case).
                raise CaseOpenError(f"{dbfile} holds no Casetrail schema (empty or replaced); "
                                    "this is not the case's database")
            try:
                db = store.connect(dbfile, read_only=lock is None)
            except sqlite3.OperationalError as exc:
                if lock is None:
                    raise
                # A full disk (or a failing one) can still be read: verify must be able to say
                # what it finds even when it cannot record it.
                lock.release()
                lock = None
                why = ("the disk holding it is full" if store.disk_full(dbfile) else database_reason(exc))
                reason = f"the case database cannot be opened for writing ({why}); opened read-only"
                db = store.connect(dbfile, read_only=True)
            problems = store.integrity_problems(db)
            integrity = problems
            if problems and lock is not None:
                db.conn.close()
                lock.release()
                lock = None
                db = store.connect(dbfile, read_only=True)
                reason = ("the database failed its integrity check (" + "; ".join(problems[:3])
                          + "); opened read-only so nothing more is written to it")
            if lock is not None:
                store.migrate(db)
            elif store.schema_version(db) != store.SCHEMA_VERSION:
                db.conn.close()
                raise SchemaUpgradeNeeded(
                    f"{path} needs a schema upgrade that a read-only opening cannot make ({reason})"
                )
            case = cls(path, db, lock, reason, examiner)
            case.integrity_problems = integrity
        except CaseOpenError:
            if lock is not None:
                lock.release()
            raise
        except (sqlite3.DatabaseError, ValueError, OSError) as exc:
            if lock is not None:
                lock.release()
            raise CaseOpenError(f"cannot open the case database {dbfile}: {exc}") from exc
        if lock is not None:
            case.recover()
            case.bind_state()
        return case

    def bind_state(self) -> None:
        """Record a *state baseline* once, when a case from before state binding is upgraded.

        From that entry on, ``verify`` replays every change of analyst state and every analysis
        against the tables (see ``desktop.core.state``). A case made by this version is bound
        from its ``created`` entry and gets no baseline.
        """
        if state.is_bound(self.db.conn):
            return
        with self.transaction() as conn:
            detail = state.baseline_detail(conn)
            custody.append(conn, action="note", examiner=self.examiner, detail=detail,
                           result="custody now binds all case state: baseline of the state found "
                                  "at the upgrade")

    def close(self) -> None:
        """Close the database and release the writer lock."""
        with contextlib.suppress(sqlite3.Error):
            self.db.conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT``: the only way anything is written to the case.

        Raises:
            ReadOnlyCaseError: this case is open read-only.
        """
        if self.read_only:
            raise ReadOnlyCaseError(f"the case is read-only: {self.read_only_reason}")
        with self._write_mutex:
            conn = self.db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                raise  # a refused statement (a trigger, a constraint) is not a fault of the disk
            except sqlite3.DatabaseError as exc:
                # A full disk, an I/O error, a damaged page: nothing of the transaction was
                # recorded (SQLite rolls it back), and the caller is told in one sentence.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise CaseWriteError(f"cannot write the case database {self.path / DB_NAME}: "
                                     f"{database_reason(exc)}; nothing of this step was recorded") from exc

    def record(self, action: str, **fields: Any) -> dict[str, Any]:
        """Append one custody entry in its own transaction."""
        with self.transaction() as conn:
            return custody.append(conn, action=action, examiner=self.examiner, **fields)

    # -- reading -----------------------------------------------------------------------------

    def reader(self) -> store.Database:
        """Open a separate read-only connection, for another thread (the window's models).

        SQLite connections must not be shared across threads mid-transaction; a reader sees only
        committed data, so a model never shows a half-recorded item.
        """
        return store.connect(self.path / DB_NAME, read_only=True)

    @property
    def title(self) -> str:
        """The case title given at creation."""
        return str(self.meta.get("title", self.path.stem))

    def items(self, *, parent_id: int | str | None = "any") -> list[Item]:
        """Return items in id order: all (default), top-level (``None``) or one parent's children."""
        sql = f"SELECT {', '.join(ITEM_COLUMNS)} FROM items"  # noqa: S608 - our own column names
        args: tuple[Any, ...] = ()
        if parent_id is None:
            sql += " WHERE parent_id IS NULL"
        elif parent_id != "any":
            sql += " WHERE parent_id = ?"
            args = (parent_id,)
        return [item_from_row(r) for r in self.db.execute(sql + " ORDER BY id", args).fetchall()]

    def items_with_ids(self, ids: Sequence[int]) -> Iterator[Item]:
        """Yield the items named, in the order named (ids not in the case are left out).

        Read a few hundred at a time, so a report naming 84,000 items holds a chunk of them, not
        all of them (``items()`` reads the whole case).
        """
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE id IN ({marks})", chunk  # noqa: S608
            ).fetchall()
            found = {item.id: item for item in map(item_from_row, rows)}
            yield from (found[i] for i in chunk if i in found)

    def item(self, item_id: int) -> Item | None:
        """Return one item, or None."""
        row = self.db.execute(
            f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE id = ?", (item_id,)  # noqa: S608
        ).fetchone()
        return item_from_row(row) if row else None

    def custody(self, item_id: int | None = None) -> list[dict[str, Any]]:
        """Return custody entries in order, all or one item's."""
        return custody.entries(self.db.conn, item_id)

    # -- recovery ----------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Find and handle what a crash left behind; record each finding in custody once.

        A temp file that is a second link to a blob (a crash between link and unlink) is only a
        name: it is removed and the content stays in the vault. Any other temp file is a copy
        that never became a blob: it is moved to ``quarantine/`` (kept, so nothing an examiner
        may want to see is lost). A blob no item names is re-hashed: if it matches its name it
        stays where it is (a re-import attaches it), otherwise it is moved to ``quarantine/``.
        Each step moves first and records second; a crash in between leaves a file in
        ``quarantine/`` that no record names, which the next opening records.

        Only what a crash can leave is looked at: ``vault/tmp`` and the blobs named by journal
        entries still in ``vault/journal`` (written before any blob is linked, removed once it is
        recorded). A case from before the journal gets one scan of every blob, then a journal.
        """
        handled = {r[0] for r in self.db.execute("SELECT path FROM recovery")}
        for tmp in self.vault.temp_files():
            rel = self._rel(tmp)
            if rel in handled:
                continue
            sha = sha256_on_disk(tmp)
            blob = self.vault.blob_path(sha)
            if tmp.stat().st_nlink > 1 and blob.exists() and blob.samefile(tmp):
                tmp.unlink()
                self._record_recovery(rel, "temp link", f"a second name of blob {sha[:16]}…; the name "
                                      "was removed, the content stays in the vault", {"sha256": sha})
                continue
            dest = self._quarantine(tmp)
            self._record_recovery(rel, "temp file", f"moved to {self._rel(dest)}",
                                  {"sha256": sha, "size": dest.stat().st_size}, also=self._rel(dest))
        entries = self.vault.in_flight()
        if self.vault.journalled and all(shas is not None for _entry, shas in entries):
            named = sorted({sha for _entry, shas in entries for sha in shas or ()})
            candidates = [b for b in (self.vault.blob_path(sha) for sha in named) if b.is_file()]
        else:
            candidates = list(self.vault.blobs()) if self.vault.root.is_dir() else []
        if candidates:
            for blob in candidates:
                rel = self._rel(blob)
                if self._named(blob.name) or rel in handled:
                    continue
                actual = sha256_on_disk(blob)
                if actual == blob.name:
                    self._record_recovery(rel, "orphan blob",
                                          "verified and kept; importing the file again attaches it",
                                          {"sha256": actual})
                else:
                    dest = self._quarantine(blob)
                    self._record_recovery(rel, "orphan blob", "content does not match its name; moved "
                                          f"to {self._rel(dest)}", {"sha256": actual}, also=self._rel(dest))
        for entry, _shas in entries:
            self.vault.settle(entry)  # every blob it named is recorded as an item or as recovered
        if not self.vault.journalled and self.vault.root.is_dir():
            self.vault.start_journal()
        self._clear_scratch()
        qdir = self.path / "quarantine"
        if qdir.is_dir():
            handled = {r[0] for r in self.db.execute("SELECT path FROM recovery")}
            for stray in sorted(qdir.iterdir()):
                rel = self._rel(stray)
                if rel not in handled:
                    self._record_recovery(rel, "quarantined file", "found in quarantine, moved there by "
                                          "an interrupted recovery; kept", {"sha256": sha256_on_disk(stray)})
        return self.recovery

    def _named(self, sha256: str) -> bool:
        found = self.db.execute("SELECT 1 FROM items WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone()
        return found is not None

    def _clear_scratch(self) -> None:
        """Remove what an interrupted analysis or export left in ``work/``, and record it once.

        ``work/`` only ever holds copies this program made (parts cut from an item before they
        were acquired, analysis spools, the database copy of a package): never evidence, which
        is only ever in the vault. The items whose analysis was interrupted are still
        ``acquired`` and are analysed again by the next import or ``casetrail analyse``.
        """
        scratch = self.path / "work"
        if not scratch.is_dir():
            return
        files = size = 0
        leftovers = sorted(scratch.iterdir())
        for entry in leftovers:
            for p in [entry] if not entry.is_dir() else entry.rglob("*"):
                if p.is_file():
                    files += 1
                    size += p.stat().st_size
        for entry in leftovers:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            scratch.rmdir()
        if leftovers:
            outcome = (f"removed {len(leftovers)} scratch folder{'s' if len(leftovers) != 1 else ''} "
                       f"({files} files, {size:,} bytes) left by an interrupted analysis or export; "
                       "scratch copies, never evidence")
            with self.transaction() as conn:
                custody.append(conn, action="recovered", examiner=self.examiner, source="work",
                               result=outcome, detail={"kind": "scratch", "folders": len(leftovers),
                                                       "files": files, "bytes": size})
            self.recovery.append(f"scratch work/: {outcome}")

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.path))

    def _record_recovery(self, rel: str, kind: str, outcome: str, detail: dict[str, Any],
                         also: str | None = None) -> None:
        with self.transaction() as conn:
            paths = (rel, also) if also else (rel,)
            for path in paths:
                conn.execute("INSERT OR IGNORE INTO recovery (path, kind, handled_at, outcome) "
                             "VALUES (?, ?, ?, ?)", (path, kind, custody.utc_now(), outcome))
            custody.append(conn, action="recovered", examiner=self.examiner, source=rel,
                           sha256=detail.get("sha256"), result=outcome, detail={"kind": kind, **detail},
                           state=[state.row_change(conn, "recovery", p) for p in paths])
        self.recovery.append(f"{kind} {rel}: {outcome}")

    def _quarantine(self, path: Path) -> Path:
        qdir = self.path / "quarantine"
        qdir.mkdir(exist_ok=True)
        dest = qdir / f"{custody.utc_now().replace(':', '')}-{path.name}"
        shutil.move(str(path), dest)
        fd = os.open(qdir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return dest
