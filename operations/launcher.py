"""Run the web server and a job worker side by side, as one command (make run, make serve):

    python -m operations.launcher python manage.py runserver 127.0.0.1:8000

starts `python manage.py worker` and the given web server, each in its own process group. Ctrl-C or
SIGTERM stops both (SIGTERM to each group: the worker finishes its running jobs first); when either
exits by itself, the other is stopped too and the launcher exits with the first one's status.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_SECONDS = 30  # how long each child gets to stop before it is killed


def start(command: list[str]) -> subprocess.Popen:
    # Its own session: Ctrl-C reaches only the launcher, which stops each child once, in order.
    return subprocess.Popen(command, cwd=ROOT, start_new_session=True)


def stop(child: subprocess.Popen) -> None:
    """SIGTERM to the child's group, SIGKILL if it is still there after STOP_SECONDS."""
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=STOP_SECONDS)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def main(web_command: list[str]) -> int:
    if not web_command:
        print(__doc__, file=sys.stderr)
        return 2
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    worker = start([sys.executable, "manage.py", "worker"])
    web = start(web_command)
    children = {"job worker": worker, "web server": web}
    status = 0
    while not stopping:
        ended = [(name, child) for name, child in children.items() if child.poll() is not None]
        if ended:
            name, child = ended[0]
            status = child.returncode
            print(f"The {name} stopped (status {status}); stopping the rest.", file=sys.stderr)
            break
        time.sleep(0.2)
    for child in (web, worker):
        stop(child)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
