# On a version tag push, moves floating tags (latest, MAJOR, MAJOR.MINOR) only forward: each only when no higher
# release is among the repository's version tags, so a 3.0.x fix never takes latest back from 3.1. Pre-releases
# get only their exact tag unless ALLOW_PRERELEASE_FLOATING=true; major 0 never gets a `0` tag.
import os
import re
import secrets
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(rf"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-({IDENT}(?:\.{IDENT})*))?"
                    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[str, ...]
    text: str  # x.y.z[-pre], the {{version}} metadata-action produces

    def key(self) -> tuple[object, ...]:  # semver 2.0 precedence; build metadata is already dropped
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return self.major, self.minor, self.patch, not self.pre, pre


@dataclass
class Decision:
    latest: bool = False
    major: bool = False
    minor: bool = False
    version: str = ""
    reasons: list[str] = field(default_factory=list)


def parse_version(tag: str) -> Version | None:
    m = SEMVER.fullmatch(tag)
    pre = tuple(m[4].split(".")) if m and m[4] else ()
    return m and Version(int(m[1]), int(m[2]), int(m[3]), pre, m[0].lstrip("v").split("+")[0])


def floating_decision(pushed: str, tags: Iterable[str], allow_prerelease: bool) -> Decision:
    v = parse_version(pushed)
    if v is None:
        return Decision(reasons=[f"{pushed or 'this ref'} is not a version tag: no version or floating tags"])
    d = Decision(version=v.text, reasons=[f"{v.text}: yes, the exact version is always tagged"])
    if v.pre and not allow_prerelease:
        d.reasons.append(f"latest, {v.major}, {v.major}.{v.minor}: no, pre-release (ALLOW_PRERELEASE_FLOATING off)")
        return d
    # With ALLOW_PRERELEASE_FLOATING on, pre-releases compete too, so a tag an rc already holds never moves back.
    pool = [(p.key(), t) for t in {*tags, pushed} if (p := parse_version(t)) and (allow_prerelease or not p.pre)]

    def highest(name, scope, what):
        top_key, top_tag = max(c for c in pool if scope(c[0]))  # the pushed tag is always in scope
        ok = top_key <= v.key()
        d.reasons.append(f"{name}: yes, {pushed} is the highest {what}" if ok else f"{name}: no, {top_tag} is higher")
        return ok

    d.latest = highest("latest", lambda k: True, "release")
    d.minor = highest(f"{v.major}.{v.minor}", lambda k: k[:2] == (v.major, v.minor), f"{v.major}.{v.minor}.x release")
    if v.major == 0:  # metadata-action's README ("Major version zero"): no `0` tag, 0.y.z is unstable
        d.reasons.append("0: no, major version 0 gets no floating major tag")
    else:
        d.major = highest(str(v.major), lambda k: k[0] == v.major, f"{v.major}.x release")
    return d


STANDARD = ("type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}",
            "type=semver,pattern={{major}}")


def gate(rule: str) -> str:
    """Which decision a semver rule waits for: "minor" ({{major}}.{{minor}}), "major" ({{major}}), or none."""
    pattern = rule.split("pattern=", 1)[-1].split(",")[0]
    if "{{version}}" in pattern or "{{patch}}" in pattern:
        return ""
    return "minor" if "{{minor}}" in pattern else "major" if "{{major}}" in pattern else ""


def metadata_rules(d: Decision, wanted: Iterable[str] = STANDARD) -> list[str]:
    """The build's own semver rules that may fire for this tag, and `latest` when it is the highest."""
    v = parse_version(d.version)
    if v is None:
        return []
    rules = []
    for rule in wanted:
        if not gate(rule) or getattr(d, gate(rule)):
            pattern = rule.split("pattern=", 1)[-1].split(",")[0]
            # metadata-action turns every semver pattern of a pre-release into {{version}}: allowed ones go raw.
            raw = pattern.replace("{{major}}", str(v.major)).replace("{{minor}}", str(v.minor))
            rules.append(f"type=raw,value={raw}" if v.pre and gate(rule) else rule)
    return rules + ["type=raw,value=latest"] * d.latest


def main() -> None:
    pushed = os.environ.get("GITHUB_REF_NAME", "") if os.environ.get("GITHUB_REF_TYPE", "tag") == "tag" else ""
    tags = subprocess.run(["git", "tag", "--list"], check=True, capture_output=True, text=True).stdout.split()
    d = floating_decision(pushed, tags, os.environ.get("ALLOW_PRERELEASE_FLOATING", "").strip().lower() == "true")
    print("\n".join(d.reasons))
    eof = f"EOF_{secrets.token_hex(8)}"
    out = [f"{k}={str(getattr(d, k)).lower()}" for k in ("latest", "major", "minor")]
    wanted = os.environ.get("SEMVER_RULES", "\n".join(STANDARD)).splitlines()
    rules = metadata_rules(d, [rule for rule in wanted if rule.strip()])
    out += [f"version={d.version}", "flavor=latest=false", f"tags<<{eof}", *rules, eof]
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
