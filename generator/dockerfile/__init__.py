"""What a Dockerfile builds: its stages, which of them run on the build platform, and which RUN steps
execute for the target platform (those need emulation or a native runner).

The parser is `dockerfile` (PyPI), a CPython binding of BuildKit's own parser (moby/buildkit v0.12.5,
`frontend/dockerfile/parser`), chosen over the pure-Python `dockerfile-parse` because `auto` must read a
Dockerfile the way `docker buildx build` will:

- heredocs: `dockerfile-parse` 2.0.1 has none (containerbuildsystem/dockerfile-parse#145, open); it turns
  every line of a `RUN <<EOF` body into an instruction of its own, so a body line `FROM busybox` becomes
  a phantom stage and `make` inside the script is missed. BuildKit's parser returns the body with the RUN.
- line continuations: `dockerfile-parse` ends an instruction at an empty line inside a continuation
  (`apk add \\`, blank line, `curl` becomes an instruction `CURL`); BuildKit skips such lines, and
  comment lines, as `docker build` does. Both handle `# escape=` and `# syntax=`, CRLF and a BOM.
- same answer as the builder: instruction splitting, flags (`--platform=`, `--from=`, `--mount=`) and
  exec-form JSON come from the code Docker runs, not from our reading of the reference.

What it costs, and why it is still the better trade:

- wheels (3.4.0, abi3 so one wheel serves every CPython >= 3.9, 3.14 included): Linux x86-64
  (manylinux1), macOS x86-64 (13+) and arm64 (14+), Windows x64. None for Linux aarch64 (arm64 dev
  containers, Graviton), musllinux, or Windows arm64: there pip builds the sdist, which needs a Go
  toolchain. So the dependency is declared only where a wheel exists (an environment marker), the
  import is lazy, and a missing parser is a UserError that says what to do: only reading a Dockerfile
  (strategy `auto`) needs it, and the rest of the tool installs everywhere.
- the project was archived in 2025-01 after 3.4.0. The parser's syntax has been stable since heredocs
  (2022), and everything we read of it is wrapped in one module (parse.py), so a fork or another
  binding is a contained change.
- a second parser as fallback is ruled out: the same spec must give the same workflow on every machine
  (pre-commit and `--check` compare bytes), and two parsers would disagree exactly on heredocs.

What the parser does not check, and BuildKit would refuse (unknown instructions, instructions before
the first FROM, malformed FROM lines, bad or duplicate stage names), is checked here, so a broken
Dockerfile is reported with its line instead of deciding a strategy from garbage.

The package, in the order a Dockerfile goes through it: scan.py reads the line structure in linear time
and refuses what would cost the parser too much (the MAX_* bounds); parse.py runs BuildKit's parser and
locates its errors; analysis.py turns the instructions into stages and RUN steps and checks what the
parser lets through; commands.py says which RUN command is heavy, on shell words split by shell.py.
"""

from .analysis import DockerfileInfo, RunStep, Stage, analyse_dockerfile, read_dockerfile
from .scan import LONG_WORDS, MAX_BYTES, MAX_CONTINUED_LINES, MAX_LINE_BYTES, MAX_LINES, MAX_WORD

__all__ = [
    "LONG_WORDS",
    "MAX_BYTES",
    "MAX_CONTINUED_LINES",
    "MAX_LINES",
    "MAX_LINE_BYTES",
    "MAX_WORD",
    "DockerfileInfo",
    "RunStep",
    "Stage",
    "analyse_dockerfile",
    "read_dockerfile",
]
