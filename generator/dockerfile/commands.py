"""Which shell command makes a RUN step heavy: compilers and package builds, found in command position."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath

from .shell import shell_words

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})


# What makes a RUN heavy: compilers and package builds, the work QEMU slows down 6-25x (reference §6).
# Keys are the command's name (version suffixes removed: gcc-12, python3.12); a value of () means the
# command alone is heavy, otherwise one of the listed subcommand sequences must follow it.
# Package-manager installs of prebuilt packages (apt-get, apk, dnf ...) are not here: they are light.
_HEAVY: dict[str, tuple[tuple[str, ...], ...]] = {
    **dict.fromkeys(
        ("make", "gmake", "cmake", "ninja", "scons", "bazel", "bazelisk", "configure", "gcc", "g++", "cc", "c++",
         "clang", "clang++", "rustc", "javac", "ghc", "nvcc", "mvn", "mvnw", "gradle", "gradlew", "ant", "sbt",
         "msbuild", "cpanm", "rpmbuild", "dpkg-buildpackage", "makepkg", "catkin_make", "catkin_make_isolated",
         "bitbake"),
        (),
    ),
    # ROS: colcon builds a workspace's packages (CMake, ament, setuptools), catkin the ROS 1 ones.
    "colcon": (("build",), ("test",)),
    "catkin": (("build",),),
    "node-gyp": (("rebuild",), ("build",)),
    "python": (("setup.py", "build"), ("setup.py", "install"), ("setup.py", "bdist_wheel")),
    "cargo": (("build",), ("b",), ("install",), ("test",)),
    "go": (("build",), ("install",), ("test",)),
    "npm": (("ci",), ("install",), ("i",), ("rebuild",), ("run", "build")),
    "yarn": (("install",), ("build",), ("run", "build")),
    "pnpm": (("install",), ("i",), ("build",), ("run", "build")),
    "pip": (("install",), ("wheel",)),
    "uv": (("sync",), ("build",), ("pip", "install")),
    "poetry": (("install",), ("build",)),
    "bundle": (("install",),),
    "gem": (("install",),),
    "dotnet": (("build",), ("publish",)),
    "cabal": (("build",), ("install",)),
    "stack": (("build",), ("install",)),
    "mix": (("compile",), ("release",)),
    "swift": (("build",),),
    "zig": (("build",),),
    "meson": (("compile",), ("setup",)),
}
_VERSIONED = re.compile(r"^(?P<name>python|pip)[0-9.]*$|^(?P<tool>.+?)-[0-9][0-9.]*$")
_CROSS_COMPILER = re.compile(r"-(gcc|g\+\+|clang|clang\+\+)$")
# Words after which the next word is a command, and words that run the command after them.
_COMMAND_START = frozenset({"&&", "||", ";", "|", "|&", "&", "(", ")", "{", "}", "!", ";;", "$(", "`",
                            "if", "then", "else", "elif", "do", "while", "until"})
_WRAPPERS = frozenset({"sudo", "env", "nice", "nohup", "exec", "command", "eatmydata", "xargs", "stdbuf", "time",
                       "npx", "ccache"})
# Heavy commands that install packages and build only those that ship no prebuilt binary for the platform
# (native modules, sdists, gems with extensions): heavy, but less sure to compile than a build tool, so a
# reason names a build tool first (`RUN pip install vcstool` then `RUN colcon build`: colcon build).
_INSTALLS = frozenset({"npm ci", "npm install", "npm i", "yarn install", "pnpm install", "pnpm i", "pip install",
                       "uv sync", "uv pip install", "poetry install", "bundle install", "gem install", "cpanm"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELL_C = re.compile(r"-[a-z]*\Z")  # with a "c" in it: -c, -ec, -exc (one regex would backtrack)


def heavy_rank(heavy: str) -> int:
    """How surely a heavy command compiles: 2 for build tools and compilers, 1 for installs that may build
    (pip install, npm ci ...), 0 for "" (light)."""
    if not heavy:
        return 0
    return 1 if heavy in _INSTALLS else 2


def heaviest(commands: Iterable[str]) -> str:
    """The first of the heaviest commands (heavy_rank), "" when none is heavy."""
    best = ""
    for command in commands:
        if heavy_rank(command) > heavy_rank(best):
            best = command
            if heavy_rank(best) == 2:
                break
    return best


def heavy_in_script(script: str) -> str:
    """The heaviest command of a script (the first of them), "" when it runs none."""
    def each_line() -> Iterator[str]:
        for line in _logical_lines(script):
            words = shell_words(line)
            if words is None:  # an unbalanced quote: the shell would fail too; look at the plain words
                words = line.split()
            yield heavy_in_words(words)

    return heaviest(each_line())


def _logical_lines(script: str) -> Iterator[str]:
    """The script's non-blank lines with backslash continuations joined (newlines separate commands; only
    "\n" is one to a shell, not the other line breaks str.splitlines knows)."""
    pending: list[str] = []
    for line in script.split("\n"):
        end = line.rstrip()
        if end.endswith("\\"):
            pending += (end[:-1], " ")
        elif pending or end:
            yield "".join((*pending, line))
            pending = []
    if pending:
        yield "".join(pending)


def heavy_in_words(words: list[str]) -> str:
    """The heaviest command among shell words (the first of them), looking only at words in command
    position (so `apt-get install make` installs a package named make and is not heavy)."""
    return heaviest(_heavy_commands(words))


def _heavy_commands(words: list[str]) -> Iterator[str]:
    at_command = True
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word in _COMMAND_START or word.endswith(("$(", "`")):
            at_command = True
            continue
        if not at_command:
            continue
        if _ASSIGNMENT.match(word) or word.startswith("-") or word in _WRAPPERS:
            continue  # `CGO_ENABLED=0 go build`, `sudo -E make`, `env X=1 make`: the command is further on
        at_command = False
        name = _command_name(word)
        rest = _own_words(words, i)
        if name in SHELLS:
            script = next((rest[k + 1] for k, w in enumerate(rest[:-1]) if "c" in w and _SHELL_C.match(w)), "")
            yield heavy_in_script(script)  # sh -c "make all"
            continue
        if name == "python" and rest[:2] == ["-m", "pip"]:
            name, rest = "pip", rest[2:]
        elif name == "python" and rest[:2] == ["-m", "build"]:  # PEP 517 build of an sdist and a wheel
            yield "python -m build"
            continue
        yield _heavy_command(name, rest)


def _command_name(word: str) -> str:
    name = PurePosixPath(word).name  # /usr/bin/make, ./configure, ./gradlew
    versioned = _VERSIONED.match(name)
    if versioned:
        name = versioned.group("name") or versioned.group("tool")
    cross = _CROSS_COMPILER.search(name)  # aarch64-linux-gnu-gcc
    return cross.group(1) if cross else name


def _own_words(words: list[str], start: int) -> list[str]:
    """The words from `start` that belong to this command, up to the next separator. Only those are
    copied: a copy of all the following words would make a line of many commands quadratic."""
    end = next((k for k in range(start, len(words)) if words[k] in _COMMAND_START), len(words))
    return words[start:end]


def _heavy_command(name: str, args: list[str]) -> str:
    forms = _HEAVY.get(name)
    if forms is None:
        return ""
    if not forms:
        return name
    words = [a for a in args if not a.startswith(("-", "+"))]
    for form in forms:
        if tuple(words[: len(form)]) == form:
            return " ".join((name, *form))
    return ""
