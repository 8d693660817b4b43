"""Backups and point-in-time recovery with PostgreSQL's own tools.

A full backup (pg_basebackup, plain format, with a manifest) goes into `BACKUP_DIR/<timestamp>-full`; an
incremental one (`pg_basebackup --incremental`, PostgreSQL 17+) holds only what changed since the backup
before it. Each is checked with pg_verifybackup, and a small JSON file beside it records its status. The
server archives its WAL continuously, so `restore()` combines the newest chain (a full backup and the
incrementals after it) that finished before a moment with pg_combinebackup, and lets PostgreSQL replay the
archived WAL up to that moment. An incremental run takes a full backup instead when the newest full one
started more than BACKUP_FULL_EVERY_HOURS ago, so a missed daily full is made up. Chains older than
BACKUP_KEEP_DAYS are removed, with the WAL only they needed (pg_archivecleanup); backups and WAL are copied
to BACKUP_COPY_DIR. README: "Backups and point-in-time recovery".
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)

FULL, INCREMENTAL = "full", "incremental"
LOCK_FILE = ".lock"
WAL_COPY = "wal-archive"  # the WAL archive's copy, inside BACKUP_COPY_DIR
TIMEOUT = 6 * 3600  # seconds any one tool may run
WAL_FILE = re.compile(r"^([0-9A-F]{24}(\.[0-9A-F]{8}\.backup|\.partial)?|[0-9A-F]{8}\.history)$")  # not temporary files


class BackupError(Exception):
    """A backup, copy or restore that failed; the message says why."""


class RestoreRefused(BackupError):
    """A restore that was not started because its request cannot be met; nothing was changed."""


@dataclass(frozen=True)
class Backup:
    """One backup as its status file records it."""

    name: str
    kind: str  # FULL or INCREMENTAL
    started_at: datetime
    finished_at: datetime | None  # None while it runs
    size_bytes: int = 0
    verified: bool = False
    copied: bool = False
    error: str | None = None
    parent: str | None = None  # the backup an incremental builds on
    start_wal: str | None = None  # the first WAL segment a restore of it needs
    system_identifier: str | None = None  # the cluster it was taken of

    @property
    def ok(self) -> bool:
        return self.finished_at is not None and self.error is None


def _configured_bin_dir() -> Path | None:
    """PG_BIN_DIR; None when it is empty (not set, and no embedded or system PostgreSQL was found)."""
    return Path(settings.PG_BIN_DIR) if str(settings.PG_BIN_DIR or "") else None


@dataclass(frozen=True)
class Place:
    """What to back up and where: the server (libpq keywords), the directories, the retention."""

    server: dict
    backup_dir: Path
    archive_dir: Path | None
    copy_dir: Path | None = None
    keep_days: int = 7
    full_every_hours: int = 24  # an incremental run takes a full backup when the newest full is older
    bin_dir: Path | None = field(default_factory=_configured_bin_dir)  # None: not found, not set
    sync: bool = True  # wait for backups to reach the disk (off only for throwaway tests)


def configured_place() -> Place:
    """The Place the settings describe: the default database, BACKUP_DIR, the WAL archive, the copy."""
    params = connections["default"].get_connection_params()
    # The embedded server's backups connect as its REPLICATION role; with DATABASE_URL, as that URL's role.
    if hasattr(connections["default"], "backup_login"):
        params.update(connections["default"].backup_login())
    server = {key: str(params[key]) for key in ("host", "port", "user", "password", "dbname") if params.get(key)}
    return Place(
        server=server,
        backup_dir=Path(settings.BACKUP_DIR),
        archive_dir=Path(settings.BACKUP_WAL_ARCHIVE_DIR) if settings.BACKUP_WAL_ARCHIVE_DIR else None,
        copy_dir=Path(settings.BACKUP_COPY_DIR) if settings.BACKUP_COPY_DIR else None,
        keep_days=settings.BACKUP_KEEP_DAYS,
        full_every_hours=settings.BACKUP_FULL_EVERY_HOURS,
    )


# the status files ----------------------------------------------------------------------------


def list_backups(backup_dir: Path | None = None) -> list[Backup]:
    """The backups in `backup_dir` (BACKUP_DIR by default), newest first. A `*.json` there that is not a
    readable status file (malformed, truncated, another program's) is skipped with a warning in the log: it is
    neither listed nor ever removed by the retention."""
    backup_dir = Path(backup_dir or settings.BACKUP_DIR)
    backups = []
    for path in sorted(backup_dir.glob("*.json")) if backup_dir.is_dir() else []:
        try:
            backups.append(_read(path))
        except (OSError, ValueError, TypeError, KeyError) as error:
            logger.warning("Skipping %s: it is not a readable backup status file (%s).", path, error)
    return sorted(backups, key=lambda backup: backup.started_at, reverse=True)


def _read(path: Path) -> Backup:
    """The Backup a status file records; ValueError, TypeError or KeyError when it is not one of ours."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for key in ("started_at", "finished_at"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise TypeError(f"{key} is not a time")
        data[key] = datetime.fromisoformat(data[key]) if data.get(key) else None
    backup = Backup(**data)
    if backup.name != path.stem or backup.kind not in (FULL, INCREMENTAL):
        raise ValueError(f"name {backup.name!r} or kind {backup.kind!r} does not match")
    if backup.started_at is None or backup.started_at.utcoffset() is None:
        raise ValueError("started_at is missing or has no time zone")
    if backup.finished_at is not None and backup.finished_at.utcoffset() is None:
        raise ValueError("finished_at has no time zone")
    return backup


def _write(backup_dir: Path, backup: Backup) -> None:
    data = asdict(backup)
    for key in ("started_at", "finished_at"):
        data[key] = data[key].isoformat() if data[key] else None
    temporary = backup_dir / f".{backup.name}.json.tmp"
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.replace(backup_dir / f"{backup.name}.json")


@contextlib.contextmanager
def backup_lock(backup_dir: Path, wait: bool):
    """Held while a backup, its retention and copy, or a restore runs; yields False when `wait` is false
    and another process holds it."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    with open(backup_dir / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# taking a backup -----------------------------------------------------------------------------


def run_backup(kind: str = INCREMENTAL, place: Place | None = None) -> Backup | None:
    """Take a backup, copy it to the second place and apply the retention; None when another backup was
    running (this one is then skipped). Raises BackupError when the backup or the copy failed."""
    place = place or configured_place()
    with backup_lock(place.backup_dir, wait=False) as locked:
        if not locked:
            logger.info("Another backup is running in %s; this one is skipped.", place.backup_dir)
            return None
        backup = _take(place, kind)
        if backup.error:
            raise BackupError(f"Backup {backup.name} failed: {backup.error}")
        if place.copy_dir:
            copy_backups(place)
            backup = next(b for b in list_backups(place.backup_dir) if b.name == backup.name)
        apply_retention(place)
        return backup


def _take(place: Place, kind: str) -> Backup:
    _mark_interrupted(place.backup_dir)
    started_at = datetime.now(UTC)
    try:
        with _connect(place.server) as conn:
            version = int(conn.execute("SHOW server_version_num").fetchone()[0])
            system_identifier = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()[0]
    except psycopg.Error as error:
        backup = Backup(
            name=f"{started_at:%Y%m%dT%H%M%S.%f}Z-{kind}",
            kind=kind,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            error=f"cannot connect to the database: {error}",
        )
        _write(place.backup_dir, backup)
        return backup
    # An incremental builds on the newest backup, if that is one of this cluster (not of one made anew since)
    # and the server keeps WAL summaries (PostgreSQL 17+), and if the newest full backup of this cluster
    # started within full_every_hours (a daily full missed, the machine off at its time, is made up here:
    # the retention needs a full backup to keep a chain from); otherwise a full backup is taken.
    finished = [b for b in list_backups(place.backup_dir) if b.ok]
    newest = finished[0] if finished else None
    newest_full = next((b for b in finished if b.kind == FULL and b.system_identifier == system_identifier), None)
    full_due = newest_full is None or started_at - newest_full.started_at > timedelta(hours=place.full_every_hours)
    parent = None
    if kind == INCREMENTAL and newest_full and full_due:
        logger.info(
            "The newest full backup, %s, started more than %s hours ago: a full backup is taken instead of an "
            "incremental one.",
            newest_full.name,
            place.full_every_hours,
        )
    if kind == INCREMENTAL and not full_due and version >= 170000 and newest.system_identifier == system_identifier:
        if (place.backup_dir / newest.name / "backup_manifest").exists():
            parent = newest
    kind = INCREMENTAL if parent else FULL
    backup = Backup(
        name=f"{started_at:%Y%m%dT%H%M%S.%f}Z-{kind}",
        kind=kind,
        started_at=started_at,
        finished_at=None,
        parent=parent.name if parent else None,
        system_identifier=system_identifier,
    )
    _write(place.backup_dir, backup)
    directory = place.backup_dir / backup.name
    command = ["pg_basebackup", "-D", directory, "--checkpoint=fast", "--no-password", "--label", backup.name]
    if parent:
        command += ["--incremental", place.backup_dir / parent.name / "backup_manifest"]
    if not place.sync:
        command.append("--no-sync")
    try:
        _tool(place, command + ["-d", _conninfo(place.server)])
        # An incremental backup is verified as far as it goes (its manifest and files); the chain it
        # belongs to is verified whole when it is combined on a restore.
        _tool(place, ["pg_verifybackup", "--quiet", directory])
        backup = replace(
            backup,
            finished_at=datetime.now(UTC),
            verified=True,
            size_bytes=_size(directory),
            start_wal=_start_wal(directory),
        )
    except BackupError as error:
        shutil.rmtree(directory, ignore_errors=True)
        backup = replace(backup, finished_at=datetime.now(UTC), error=str(error))
    _write(place.backup_dir, backup)
    return backup


def _mark_interrupted(backup_dir: Path) -> None:
    """A backup without an end, found while the lock is held, was interrupted (its process killed)."""
    for backup in list_backups(backup_dir):
        if backup.finished_at is None:
            shutil.rmtree(backup_dir / backup.name, ignore_errors=True)
            _write(backup_dir, replace(backup, finished_at=datetime.now(UTC), error="interrupted before it finished"))


def _start_wal(directory: Path) -> str | None:
    """The WAL segment the backup starts in, from its backup_label ('... (file 000000010000000000000002)')."""
    for line in (directory / "backup_label").read_text().splitlines():
        if line.startswith("START WAL LOCATION:"):
            return line.rsplit("file ", 1)[1].rstrip(")")
    return None


def _size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file() and not item.is_symlink())


# retention -----------------------------------------------------------------------------------


def apply_retention(place: Place, now: datetime | None = None) -> list[str]:
    """Remove the backups no restore within the last `keep_days` days needs, in BACKUP_DIR and in the copy,
    and the archived WAL older than the oldest backup kept. Returns the names removed from BACKUP_DIR."""
    now = now or datetime.now(UTC)
    removed = _expire(place, place.backup_dir, place.archive_dir, now)
    if place.copy_dir and place.copy_dir.is_dir():
        _expire(place, place.copy_dir, place.copy_dir / WAL_COPY, now)
    return removed


def _expire(place: Place, backup_dir: Path, archive_dir: Path | None, now: datetime) -> list[str]:
    """Keep the newest full backup that finished before the cutoff (a restore to the cutoff starts from it)
    and everything after it; remove the rest."""
    cutoff = now - timedelta(days=place.keep_days)
    backups = list_backups(backup_dir)
    anchor = next((b for b in backups if b.ok and b.kind == FULL and b.finished_at <= cutoff), None)
    if anchor:
        expired = [b for b in backups if b.started_at < anchor.started_at]
    else:  # every full backup is recent: keep them all, drop only old records of failures
        expired = [b for b in backups if not b.ok and b.finished_at and b.finished_at <= cutoff]
    for backup in expired:
        shutil.rmtree(backup_dir / backup.name, ignore_errors=True)
        (backup_dir / f"{backup.name}.json").unlink(missing_ok=True)
    kept = [b for b in backups if b.ok and b.start_wal and b not in expired]
    if kept and archive_dir and archive_dir.is_dir():
        oldest = min(kept, key=lambda b: b.started_at)
        _tool(place, ["pg_archivecleanup", archive_dir, oldest.start_wal])
    return [b.name for b in expired]


# the copy to a second place ------------------------------------------------------------------


def copy_backups(place: Place) -> list[str]:
    """Copy to `place.copy_dir` each finished backup not copied yet and each archived WAL segment missing
    there; returns the names of the backups copied. Each file arrives whole (written aside, then renamed),
    and nothing in the copy is removed because it is missing here (only by the retention)."""
    if not place.copy_dir:
        return []
    copied = []
    place.copy_dir.mkdir(parents=True, exist_ok=True)
    try:
        if place.archive_dir and place.archive_dir.is_dir():
            target = place.copy_dir / WAL_COPY
            target.mkdir(exist_ok=True)
            _same_owner(place.archive_dir, target)  # a restore from the copy reads it as the server's user
            for segment in sorted(place.archive_dir.iterdir()):
                if WAL_FILE.match(segment.name) and not (target / segment.name).exists():
                    partial = target / f".{segment.name}.tmp"
                    shutil.copy2(segment, partial)
                    _same_owner(segment, partial)
                    partial.replace(target / segment.name)
        for backup in reversed(list_backups(place.backup_dir)):
            if not backup.ok or (backup.copied and (place.copy_dir / backup.name).is_dir()):
                continue
            partial = place.copy_dir / f".{backup.name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(place.backup_dir / backup.name, partial)
            shutil.rmtree(place.copy_dir / backup.name, ignore_errors=True)  # one copied before its record was
            partial.replace(place.copy_dir / backup.name)
            backup = replace(backup, copied=True)
            _write(place.copy_dir, backup)
            _write(place.backup_dir, backup)
            copied.append(backup.name)
    except OSError as error:
        raise BackupError(f"Copying the backups to {place.copy_dir} failed: {error}") from error
    return copied


def _same_owner(source: Path, target: Path) -> None:
    if os.geteuid() == 0:
        os.chown(target, source.stat().st_uid, source.stat().st_gid)


# restoring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    """A data directory restored by restore(): how to start it and where it will listen."""

    into: Path
    target_at: datetime
    chain: list[str]
    socket_dir: Path
    port: str
    start_command: list[str]
    user: str = "postgres"  # whom to connect as, and to which database: the live server's
    dbname: str = "loyalty"


def restore(target_at: datetime, into: Path, place: Place | None = None, from_copy: bool = False) -> Restored:
    """Restore into the new data directory `into` the state of `target_at`: the newest backup chain that
    finished before it, combined and verified, with the settings that make PostgreSQL replay the archived
    WAL up to that moment and then promote. Starts nothing. Raises RestoreRefused, having changed nothing,
    when the request cannot be met."""
    place = place or configured_place()
    backup_dir = place.copy_dir if from_copy else place.backup_dir
    archive_dir = (place.copy_dir / WAL_COPY) if (from_copy and place.copy_dir) else place.archive_dir
    into = Path(into).absolute()
    if from_copy and not place.copy_dir:
        raise RestoreRefused("There is no copy to restore from: BACKUP_COPY_DIR is not set.")
    if target_at.tzinfo is None or target_at.utcoffset() is None:
        raise RestoreRefused(
            f"The time {target_at.isoformat()} has no time zone. Add one, e.g. '{target_at.isoformat()}+00:00' for UTC."
        )
    now = datetime.now(UTC)
    if target_at > now:
        raise RestoreRefused(
            f"The time {target_at.isoformat()} is in the future (it is now {now:%Y-%m-%d %H:%M:%S} UTC)."
        )
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise RestoreRefused(f"{into} exists and is not an empty directory: restore into a new one.")
    if not archive_dir or not archive_dir.is_dir():
        raise RestoreRefused(
            f"There is no WAL archive to recover from ({archive_dir or 'BACKUP_WAL_ARCHIVE_DIR is not set'})."
        )
    with backup_lock(backup_dir, wait=True):
        chain = _chain_for(backup_dir, target_at)
        if not from_copy:
            _archive_up_to_now(place)
        created = not into.exists()
        try:
            if len(chain) == 1:  # a full backup alone (all PostgreSQL 16 makes) needs no combining
                _copy_tree(backup_dir / chain[0].name, into)
            else:
                sync = [] if place.sync else ["--no-sync"]
                _tool(place, ["pg_combinebackup", *sync, "-o", into, *[backup_dir / b.name for b in chain]])
            _tool(place, ["pg_verifybackup", "--quiet", into])
            socket_dir, port = _write_recovery_settings(into, target_at, archive_dir)
            owner = _hand_to_server_user(into, archive_dir, socket_dir)
        except BackupError:
            if created:
                shutil.rmtree(into, ignore_errors=True)
            else:  # leave the empty directory as it was given
                for item in into.iterdir():
                    if item.is_dir():
                        shutil.rmtree(item)
                    else:
                        item.unlink()
            raise
    start = [str(place.bin_dir / "pg_ctl"), "-D", str(into), "-l", str(into / "restore.log"), "start"]
    if owner:
        start = ["runuser", "-u", owner, "--", *start]
    names = [b.name for b in chain]
    user, dbname = place.server.get("user", "postgres"), place.server.get("dbname", "loyalty")
    return Restored(into, target_at, names, socket_dir, port, start, user, dbname)


def _copy_tree(source: Path, target: Path) -> None:
    try:
        shutil.copytree(source, target, dirs_exist_ok=True)
    except OSError as error:
        raise BackupError(f"Copying {source} to {target} failed: {error}") from error


def _chain_for(backup_dir: Path, target_at: datetime) -> list[Backup]:
    """The newest backup that finished by `target_at` and the ones it builds on, its full backup first."""
    backups = [b for b in list_backups(backup_dir) if b.ok and b.verified]
    if not backups:
        raise RestoreRefused(f"There is no finished backup in {backup_dir}.")
    newest = next((b for b in backups if b.finished_at <= target_at), None)
    if newest is None:
        first = backups[-1].finished_at
        raise RestoreRefused(
            f"The time {target_at.isoformat()} is before the first backup, which finished at {first.isoformat()}."
        )
    by_name = {b.name: b for b in backups}
    chain = [newest]
    while chain[-1].parent:
        parent = by_name.get(chain[-1].parent)
        if parent is None or not (backup_dir / parent.name).is_dir():
            raise RestoreRefused(f"Backup {chain[-1].name} builds on {chain[-1].parent}, which is missing.")
        chain.append(parent)
    missing = [b.name for b in chain if not (backup_dir / b.name).is_dir()]
    if missing:
        raise RestoreRefused(f"The backup directories {', '.join(missing)} are missing from {backup_dir}.")
    return list(reversed(chain))


def _archive_up_to_now(place: Place, timeout: float = 60) -> None:
    """Have the live server archive its WAL up to now, ending with a commit after the target time: recovery
    stops at the first commit after its target and fails if it runs out of WAL before one. Best effort: a
    server that cannot be reached is left alone (the WAL archived so far is then what there is)."""
    try:
        with _connect(place.server) as conn:
            with conn.transaction():
                conn.execute("SELECT pg_current_xact_id()")  # a commit record, timestamped now
            segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                archived = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
                if archived and archived[:24] >= segment:
                    return
                time.sleep(0.2)
            logger.warning("WAL segment %s was not archived within %s s.", segment, timeout)
    except psycopg.Error as error:
        logger.warning("Could not make the server archive its current WAL: %s", error)


def _write_recovery_settings(into: Path, target_at: datetime, archive_dir: Path) -> tuple[Path, str]:
    """Recovery to `target_at` from the archive, then promotion; no archiving of its own (it would write
    into the live cluster's archive) and a socket of its own."""
    # A Unix socket's path is limited to about 100 bytes.
    if len(str(into)) < 80:
        socket_dir = into
    else:
        socket_dir = Path("/tmp") / f"loyalty-restore-{hashlib.sha256(bytes(into)).hexdigest()[:12]}"
        socket_dir.mkdir(mode=0o700, exist_ok=True)
    settings_text = {
        "restore_command": f"cp '{archive_dir.absolute()}/%f' '%p'",
        "recovery_target_time": target_at.isoformat(sep=" "),
        "recovery_target_action": "promote",
        "recovery_target_inclusive": "on",
        "archive_mode": "off",
        "listen_addresses": "",
        "unix_socket_directories": str(socket_dir),
    }
    with (into / "postgresql.auto.conf").open("a") as handle:
        handle.write("\n# Written by `manage.py restore`: recover to the time below, then promote.\n")
        for name, value in settings_text.items():
            handle.write(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n")
    (into / "recovery.signal").touch()
    for lock in into.glob(".s.PGSQL.*.lock"):  # the live server's socket lock, when its socket is in its data
        lock.unlink()
    port = "5432"
    for conf in ("postgresql.conf", "loyalty.conf", "postgresql.auto.conf"):
        if (into / conf).exists():
            for line in (into / conf).read_text().splitlines():
                name, _, value = line.partition("=")
                if name.strip() == "port":
                    port = value.split("#")[0].strip().strip("'")
    return socket_dir, port


def _hand_to_server_user(into: Path, archive_dir: Path, *socket_dirs: Path) -> str | None:
    """Run as root, give the restored directory to the user the server runs as (the archive's owner), and let
    that user pass through the directories above it."""
    if os.geteuid() != 0:
        return None
    import pwd

    uid, gid = archive_dir.stat().st_uid, archive_dir.stat().st_gid
    if uid == 0:
        return None
    for path in [into, *into.rglob("*"), *socket_dirs]:
        os.chown(path, uid, gid, follow_symlinks=False)
    for parent in into.parents:  # the user must be able to reach it
        if parent.stat().st_mode & 0o001 == 0:
            parent.chmod(parent.stat().st_mode | 0o011)
    into.chmod(0o700)
    return pwd.getpwuid(uid).pw_name


# the tools -----------------------------------------------------------------------------------


def _tool(place: Place, command: list) -> str:
    """Run one of PostgreSQL's tools from `place.bin_dir`; BackupError with its message when it fails."""
    if place.bin_dir is None:
        raise BackupError(
            f"{command[0]}: PostgreSQL's client tools were not found (no embedded PostgreSQL, no initdb on this "
            "machine): set PG_BIN_DIR to the PostgreSQL client tools (the directory holding pg_basebackup, of "
            "the server's major version or newer)."
        )
    command = [str(place.bin_dir / command[0]), *[str(part) for part in command[1:]]]
    environment = {**os.environ, "PGPASSWORD": place.server.get("password", ""), "PGCONNECT_TIMEOUT": "10"}
    began = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BackupError(f"{Path(command[0]).name}: {error}") from error
    logger.debug("%s took %.1f s", Path(command[0]).name, time.monotonic() - began)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()
        raise BackupError(f"{Path(command[0]).name} failed: {message}")
    return result.stdout


def _conninfo(server: dict) -> str:
    """libpq keywords for the tools; the password goes through PGPASSWORD instead."""
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in server.items() if k != "password"})


def _connect(server: dict) -> psycopg.Connection:
    return psycopg.connect(**{"dbname": "postgres", **server}, autocommit=True, connect_timeout=10)


# the periodic jobs ---------------------------------------------------------------------------


@app.periodic(cron=settings.BACKUP_FULL_CRON, periodic_id="full")
@app.task(
    name="operations.backup_full",
    queueing_lock="backup_full",
    lock="backups",
    retry=RetryStrategy(max_attempts=3, wait=120, linear_wait=300),  # after 2, 7, 12 minutes
)
def backup_full(timestamp: int) -> None:
    """The daily full backup, then the copy and the retention."""
    run_backup(FULL)


@app.periodic(cron=settings.BACKUP_INCREMENTAL_CRON, periodic_id="incremental")
@app.task(
    name="operations.backup_incremental",
    queueing_lock="backup_incremental",
    lock="backups",
    retry=RetryStrategy(max_attempts=3, wait=120, linear_wait=300),  # after 2, 7, 12 minutes
)
def backup_incremental(timestamp: int) -> None:
    """The hourly incremental backup, then the copy and the retention. It is a full one when there is none to
    build on or the newest full one started more than BACKUP_FULL_EVERY_HOURS ago (the daily one was missed)."""
    run_backup(INCREMENTAL)
