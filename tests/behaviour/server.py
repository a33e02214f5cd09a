"""One process answers every stub and shim call of every act run: a Python start per step (about a
third of a second on a busy 2-core machine) would dominate the suite's time.

The client (CLIENT, a bash script: act's steps have bash) sends its output-file prefix, the call's kind
and name, its arguments and its environment over bash's /dev/tcp, NUL-separated; the server runs the
model with that environment (model.serving), writes what the call printed to <prefix>.out/.err, and
answers the exit code. Each run's state stays in its own directory (BEHAVIOUR_STATE, from the call's
environment), so one server serves parallel runs.
"""

from __future__ import annotations

import socketserver
import threading
import traceback
from pathlib import Path

from . import model, shims, stubs

CLIENT = r"""#!/usr/bin/env bash
# Forwards one stub or shim call to tests/behaviour/server.py and replays its answer.
p="$BEHAVIOUR_STATE/io/$$-$RANDOM$RANDOM"
exec 3<>"/dev/tcp/127.0.0.1/$BEHAVIOUR_PORT" || { echo "behaviour server unreachable" >&2; exit 70; }
{ printf '%s\0' "$p" "$BEHAVIOUR_KIND" "$#" "$@"; env -0; printf '\0'; } >&3
IFS= read -r code <&3
exec 3<&-
[ -s "$p.out" ] && cat "$p.out"
[ -s "$p.err" ] && cat "$p.err" >&2
rm -f "$p.out" "$p.err"
exit "${code:-70}"
"""


def dispatch(kind: str, args: list[str]) -> None:
    if kind == "stub":
        stubs.main(args[0])
    elif kind == "docker":
        shims.docker(args)
    elif kind == "cosign":
        shims.cosign(args)
    elif kind == "ping":
        model.out("pong")
    else:
        model.fail(f"unknown call kind {kind!r}", code=70)


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        fields = self._fields()
        prefix, kind, count = fields[0], fields[1], int(fields[2])
        args = fields[3 : 3 + count]
        environment = dict(f.split("=", 1) for f in fields[3 + count :] if "=" in f)
        code = 0
        with model.serving(environment) as (out, err):
            try:
                dispatch(kind, args)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except Exception:  # a bug in a model: the step fails with the traceback in its log
                err.append(traceback.format_exc())
                code = 70
        Path(prefix + ".out").write_text("".join(out))
        Path(prefix + ".err").write_text("".join(err))
        self.wfile.write(f"{code}\n".encode())

    def _fields(self) -> list[str]:
        """Read NUL-separated fields up to the empty one that ends the environment."""
        data = b""
        fields: list[str] = []
        while True:
            chunk = self.rfile.read1(65536)
            if not chunk:
                break
            data += chunk
            *done, data = data.split(b"\0")
            for raw in done:
                if raw == b"" and len(fields) >= 3 and len(fields) >= 3 + int(fields[2]):
                    return fields
                fields.append(raw.decode("utf-8", "surrogateescape"))
        return fields


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class ModelServer:
    """The server on a free local port, in a daemon thread."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="behaviour-model", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
