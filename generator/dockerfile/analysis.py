"""What a Dockerfile builds: its stages, which of them run on the build platform, and which RUN steps
execute for the target platform; checks of what BuildKit's parser accepts and a build would refuse."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import UserError
from ..record import record
from ..source import read_regular
from .commands import SHELLS, heaviest, heavy_in_script, heavy_in_words
from .parse import Instruction, parse_instructions
from .scan import MAX_BYTES, TOO_BIG, check_controls, position, scan_layout

# Instructions BuildKit knows (its `command.Commands`, which the binding's all_cmds() lists). Its parser
# accepts any word as an instruction; the build would then fail with "unknown instruction".
INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})

# BuildKit's rule for `AS name` (names are lower-cased first).
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_BUILD_VARS = re.compile(r"\$\{?BUILD(?:PLATFORM|OS|ARCH|VARIANT)\b")
_TARGET_VARS = re.compile(r"\bTARGET(?:PLATFORM|OS|ARCH|VARIANT)\b")
# The platform ARGs BuildKit defines by itself: an ARG default never replaces them.
_AUTOMATIC_ARGS = frozenset(
    f"{side}{part}" for side in ("BUILD", "TARGET") for part in ("PLATFORM", "OS", "ARCH", "VARIANT")
)
# The longest value an ARG default may expand to: image references and stage names are far shorter.
MAX_EXPANDED = 4096
_VARIABLE = re.compile(r"\$(?:(\w+)|\{(\w+)(?:(:?[-+])([^}]*))?\})")


# ------------------------------------------------------------------------------------------- results


@record
class RunStep:
    """One RUN instruction."""

    line: int  # 1-based line of the RUN keyword
    command: str  # the shell text, whitespace folded; a heredoc script follows it, its lines joined by "; "
    heavy: str  # "" (light), or the command that makes it heavy: "make", "cargo build", "pip install" ...


@record
class Stage:
    index: int  # 0-based, as `COPY --from=<index>` counts
    name: str  # lower-cased as BuildKit does; "" when unnamed
    base: str  # the FROM image, or the name of the stage it starts from (global ARG defaults applied)
    line: int
    platform: str  # the --platform value as written, "" when absent
    build_platform: bool  # runs on the builder's platform: FROM --platform=$BUILDPLATFORM, or FROM such a stage
    runs: tuple[RunStep, ...]
    uses_target_args: bool  # mentions TARGETOS/TARGETARCH/TARGETPLATFORM/TARGETVARIANT (cross-compiles, if on build)
    needs: tuple[int, ...]  # indices of the stages it reads: FROM, COPY --from, RUN --mount=from=

    @property
    def label(self) -> str:
        """How messages name the stage."""
        return f'stage "{self.name}"' if self.name else f"unnamed stage {self.index}"


@record
class DockerfileInfo:
    path: str  # as messages show it
    stages: tuple[Stage, ...]

    def find_stage(self, name: str) -> Stage | None:
        """The stage a `--target` names (case-insensitive, as BuildKit compares), or None."""
        wanted = name.lower()
        return next((s for s in self.stages if s.name and s.name == wanted), None)

    def stages_for(self, target: str | None) -> tuple[Stage, ...]:
        """The stages building `target` (default: the last stage) runs, in file order.

        Raises UserError when no stage has that name. The error has no line: the mistake is in whatever
        named the target (the spec), so a caller that knows that position should check with find_stage
        first and report it there.
        """
        if target:
            top = self.find_stage(target)
            if top is None:
                names = [s.name for s in self.stages if s.name]
                close = difflib.get_close_matches(target.lower(), names, n=1)
                listed = ", ".join(f'"{n}"' for n in names) if names else "none (name one with FROM ... AS name)"
                hint = (f'did you mean "{close[0]}"? ' if close else "") + f"named stages: {listed}"
                raise UserError.single(self.path, f'no build stage named "{target}" (the target)', hint=hint)
        else:
            top = self.stages[-1]
        seen: set[int] = set()
        pending = [top.index]
        while pending:
            index = pending.pop()
            if index not in seen:
                seen.add(index)
                pending.extend(self.stages[index].needs)
        return tuple(s for s in self.stages if s.index in seen)

    def target_platform_runs(self, target: str | None) -> tuple[tuple[Stage, RunStep], ...]:
        """RUN steps that execute once per target platform, on that platform's CPU: every RUN of a stage
        that is not on the build platform. On a runner of another architecture they need emulation."""
        return tuple((s, r) for s in self.stages_for(target) if not s.build_platform for r in s.runs)


# ------------------------------------------------------------------------------------------ entry points


def read_dockerfile(path: Path, display: str) -> DockerfileInfo:
    """Read and analyse the Dockerfile at path; `display` is how messages name it."""
    data = read_regular(path, display, MAX_BYTES, what="Dockerfile", size_hint=TOO_BIG)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = len(data[data.rfind(b"\n", 0, err.start) + 1: err.start].decode("utf-8", "replace")) + 1
        raise UserError.single(display, "the Dockerfile is not UTF-8 text", line=line, column=column,
                               hint="BuildKit reads Dockerfiles as UTF-8; re-save it with that encoding") from err
    return analyse_dockerfile(text, display)


def analyse_dockerfile(text: str, display: str) -> DockerfileInfo:
    """Parse Dockerfile text; stages, their platforms and their RUN steps. Raises UserError, located."""
    size = len(text) if len(text) > MAX_BYTES else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise UserError.single(display, f"the Dockerfile is over {MAX_BYTES} bytes", line=1, column=1,
                               hint=TOO_BIG)
    if "\0" in text:
        # The binding hands the text to Go as a C string: it would silently stop at the NUL.
        line, column = position(text, text.index("\0"))
        raise UserError.single(display, "the Dockerfile contains a NUL character", line=line, column=column,
                               hint="is this a binary file?")
    layout = scan_layout(text, display)
    check_controls(text, layout, display)
    return _Builder(display, text).build(parse_instructions(text, display, layout))


# --------------------------------------------------------------------------------------- the analysis


@dataclass
class _StageDraft:
    """A stage while its instructions are read; `refs` are --from values, resolved once all names are known."""

    index: int
    name: str
    base: str
    line: int
    platform: str
    build_platform: bool
    parent: int | None
    runs: list[RunStep]
    refs: list[str]
    target_args: bool


class _Builder:
    def __init__(self, display: str, text: str) -> None:
        self.display = display
        self.lines = text.split("\n")
        self.global_args: dict[str, str] = {name: f"${{{name}}}" for name in _AUTOMATIC_ARGS}
        self.stages: list[_StageDraft] = []
        self.named: dict[str, _StageDraft] = {}  # by name: a search of the list per FROM would be quadratic

    def fail(self, line: int, message: str, *, hint: str = "", word: str = "") -> UserError:
        return UserError.single(self.display, message, line=line, column=self._column(line, word), hint=hint)

    def _column(self, line: int, word: str) -> int:
        """1-based column of `word` (a whole word) on the line, else of the line's first non-blank character."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        found = re.search(rf"(?<!\S){re.escape(word)}(?!\S)", text) if word else None
        return (found.start() if found else len(text) - len(text.lstrip())) + 1

    def build(self, instructions: list[Instruction]) -> DockerfileInfo:
        has_from = any(ins.keyword == "FROM" for ins in instructions)
        for ins in instructions:
            self._check_keyword(ins)
            if ins.keyword == "FROM":
                self._from(ins)
            elif not self.stages:
                self._before_from(ins, has_from)
            else:
                self._in_stage(self.stages[-1], ins)
        if not self.stages:  # only ARG lines
            raise self.fail(instructions[-1].line, "the Dockerfile has no FROM instruction: it builds nothing",
                            hint="add FROM <image> after the global ARG lines")
        return DockerfileInfo(self.display, tuple(self._finish(d) for d in self.stages))

    def _check_keyword(self, ins: Instruction) -> None:
        for keyword in (ins.keyword, ins.onbuild):
            if keyword and keyword not in INSTRUCTIONS:
                close = difflib.get_close_matches(keyword, sorted(INSTRUCTIONS), n=1)
                raise self.fail(ins.line, f"unknown instruction {keyword}",
                                hint=f'did you mean "{close[0]}"?' if close else "", word=_first_word(ins.original))

    def _before_from(self, ins: Instruction, has_from: bool) -> None:
        if ins.keyword != "ARG":
            if not has_from:
                raise self.fail(ins.line, "the Dockerfile has no FROM instruction: it builds nothing",
                                hint="start the build with FROM <image> (only ARG may come before it)")
            raise self.fail(ins.line, f"{ins.keyword} before the first FROM",
                            hint="only ARG may come before the first FROM")
        for item in ins.args:
            name, eq, default = item.partition("=")
            if eq and name not in _AUTOMATIC_ARGS:
                self.global_args[name] = self._expand(_unquote(default), ins.line)

    def _expand(self, text: str, line: int) -> str:
        """Substitute global ARG defaults, the way FROM and --from see them. The platform ARGs stay as
        variables; an ARG without default stays as written (BuildKit would read it from --build-arg).
        Bounded: ARG A2=${A1}${A1} doubles at each line, so a few hundred bytes could expand to
        gigabytes; what expands past MAX_EXPANDED is refused where it happens."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            known = self.global_args.get(name)
            operator, word = match.group(3), match.group(4)
            if operator and operator.endswith("-"):
                return known if known else word
            if operator and operator.endswith("+"):
                return word if known else ""
            return known if known is not None else match.group(0)

        expanded = _VARIABLE.sub(value, text)
        if len(expanded) > MAX_EXPANDED:
            raise self.fail(line, f"a value expands to more than {MAX_EXPANDED} characters through ARG defaults",
                            hint="an image reference or stage name is far shorter: check the ARG defaults it uses")
        return expanded

    def _from(self, ins: Instruction) -> None:
        args = ins.args
        if len(args) not in (1, 3) or (len(args) == 3 and args[1].lower() != "as"):
            hint = "FROM [--platform=<platform>] <image> [AS <name>]"
            if ins.flag("platform") == "":
                hint = "write --platform=<value> with an equals sign"
            raise self.fail(ins.line, "FROM takes an image and optionally AS <name>", hint=hint)
        name = args[2].lower() if len(args) == 3 else ""
        if name and not _STAGE_NAME.match(name):
            raise self.fail(ins.line, f'invalid stage name "{args[2]}"', word=args[2],
                            hint="a stage name starts with a letter, then letters, digits, '-', '_' or '.'")
        if name in self.named:
            raise self.fail(ins.line, f'duplicate stage name "{name}"', word=args[2],
                            hint=f"line {self.named[name].line} already defines it")
        base = self._expand(args[0], ins.line)
        parent = self.named.get(base.lower())
        platform = ins.flag("platform") or ""
        if parent is not None:
            # A stage built FROM another stage continues it, on that stage's platform.
            build_platform = parent.build_platform
        else:
            build_platform = bool(_BUILD_VARS.search(self._expand(_unquote(platform), ins.line)))
        self.stages.append(_StageDraft(
            index=len(self.stages), name=name, base=parent.name if parent else base, line=ins.line,
            platform=platform, build_platform=build_platform, parent=parent.index if parent else None,
            runs=[], refs=[], target_args=bool(_TARGET_VARS.search(ins.original)),
        ))
        if name:
            self.named[name] = self.stages[-1]

    def _in_stage(self, stage: _StageDraft, ins: Instruction) -> None:
        if _TARGET_VARS.search(ins.original):
            stage.target_args = True
        if ins.keyword == "COPY":
            source = ins.flag("from")
            if source:
                stage.refs.append(self._expand(source, ins.line))
        elif ins.keyword == "RUN":
            for mount in _all_flags(ins, "mount"):
                source = _mount_source(mount)
                if source:
                    stage.refs.append(self._expand(source, ins.line))
            stage.runs.append(_run_step(ins))

    def _finish(self, draft: _StageDraft) -> Stage:
        needs = {draft.parent} if draft.parent is not None else set()
        for ref in draft.refs:
            found = self._stage_ref(ref)
            if found is not None and found != draft.index:
                needs.add(found)
        return Stage(
            index=draft.index, name=draft.name, base=draft.base, line=draft.line, platform=draft.platform,
            build_platform=draft.build_platform, runs=tuple(draft.runs), uses_target_args=draft.target_args,
            needs=tuple(sorted(needs)),
        )

    def _stage_ref(self, ref: str) -> int | None:
        """The stage a --from names (by name or index), or None for an image such as alpine:3."""
        wanted = ref.lower()
        if wanted in self.named:
            return self.named[wanted].index
        if wanted.isascii() and wanted.isdigit() and int(wanted) < len(self.stages):
            return int(wanted)
        return None


def _first_word(text: str) -> str:
    return (text.split(maxsplit=1) or [""])[0]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _all_flags(ins: Instruction, name: str) -> Iterator[str]:
    for flag in ins.flags:
        key, eq, value = flag.removeprefix("--").partition("=")
        if eq and key.lower() == name:
            yield value


def _mount_source(mount: str) -> str:
    """The `from=` of a --mount value (a CSV list of key=value), "" when it has none."""
    for field in mount.split(","):
        key, _, value = field.strip().partition("=")
        if key.lower() == "from":
            return _unquote(value)
    return ""


# ----------------------------------------------------------------------------------------- RUN steps

_HEREDOC_MARK = re.compile(r"(?<!\d)\d*<<-?\s*(['\"]?)(\w+)\1")  # (?<!\d): not quadratic in a run of digits


def _run_step(ins: Instruction) -> RunStep:
    if ins.exec_form:
        return RunStep(ins.line, " ".join(" ".join(ins.args).split()), heavy_in_words(list(ins.args)))
    shell = " ".join(ins.args)
    scripts = [shell]
    command = " ".join(shell.split())
    if ins.heredocs and _heredoc_is_script(shell):
        # `RUN <<EOF` (or `RUN <<EOF bash -e`) runs the body; `RUN cat <<EOF >file` only writes it.
        parts = [" ".join(_HEREDOC_MARK.sub(" ", shell).split())]
        for doc in ins.heredocs:
            scripts.append(doc.content)
            parts += (" ".join(line.split()) for line in doc.content.split("\n") if line.strip())
        command = "; ".join(part for part in parts if part)
    heavy = heaviest(heavy_in_script(script) for script in scripts)
    return RunStep(ins.line, command, heavy)


def _heredoc_is_script(shell: str) -> bool:
    rest = _HEREDOC_MARK.sub(" ", shell).split()
    return not rest or PurePosixPath(rest[0]).name in SHELLS
