"""One process answers every stub and shim call of every act run: a Python start per step (about a
third of a second on a busy 2-core machine) would dominate the suite's time.

The client (CLIENT, a bash script using builtins only: act's steps have bash, and every process a step
starts costs CPU the suite is short of) sends the call's kind, its arguments and the environment the
models read over bash's /dev/tcp, NUL-separated; the server runs the model with that environment
(model.serving) and answers the exit code and what the call printed (lengths first, so bash's
`read -N` takes them). Each run's state stays in its own directory (BEHAVIOUR_STATE, from the call's
environment), so one server serves parallel runs.
"""

from __future__ import annotations

import socketserver
import threading
import traceback

from . import model, shims, stubs

CLIENT = r"""#!/usr/bin/env bash
# Forwards one stub or shim call to tests/behaviour/server.py and replays its answer (builtins only).
LC_ALL=C
exec 3<>"/dev/tcp/127.0.0.1/$BEHAVIOUR_PORT" || { echo "behaviour server unreachable" >&2; exit 70; }
{
  printf '%s\0' "$BEHAVIOUR_KIND" "$#" "$@"
  for v in ${!GITHUB_*} ${!RUNNER_*} ${!DOCKER_*} ${!BEHAVIOUR_*} STUB_INPUTS PWD; do
    [ -n "${!v+x}" ] && printf '%s=%s\0' "$v" "${!v}"
  done
  printf '\0'
} >&3
read -r code <&3 && read -r nout <&3 && read -r nerr <&3 || { echo "behaviour server hung up" >&2; exit 70; }
out="" err=""
[ "$nout" -gt 0 ] && read -r -N "$nout" out <&3
[ "$nerr" -gt 0 ] && read -r -N "$nerr" err <&3
printf '%s' "$out"
printf '%s' "$err" >&2
exit "$code"
"""


def dispatch(kind: str, args: list[str]) -> None:
    if kind == "stub":
        stubs.main(args[0])
    elif kind == "docker":
        shims.docker(args)
    elif kind == "cosign":
        shims.cosign(args)
    elif kind == "az":
        shims.az(args)
    elif kind == "venv":
        shims.venv(args)
    elif kind == "pip":
        shims.pip(args)
    elif kind == "ping":
        model.out("pong")
    else:
        model.fail(f"unknown call kind {kind!r}", code=70)


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        fields = self._fields()
        kind, count = fields[0], int(fields[1])
        args = fields[2 : 2 + count]
        environment = dict(f.split("=", 1) for f in fields[2 + count :] if "=" in f)
        code = 0
        with model.serving(environment) as (out, err):
            try:
                dispatch(kind, args)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except Exception:  # a bug in a model: the step fails with the traceback in its log
                err.append(traceback.format_exc())
                code = 70
        printed, said = "".join(out).encode(), "".join(err).encode()
        self.wfile.write(f"{code}\n{len(printed)}\n{len(said)}\n".encode() + printed + said)

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
                if raw == b"" and len(fields) >= 2 and len(fields) >= 2 + int(fields[1]):
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
