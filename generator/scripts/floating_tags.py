# Moves latest, MAJOR and MAJOR.MINOR to a version tag only if no higher version (semver precedence) is in scope.
import os
import re

N, ID = r"(0|[1-9][0-9]*)", r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(rf"v?({N}\.{N}\.{N}(?:-({ID}(?:\.{ID})*))?)(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
def parse_version(tag):  # None, or (major, minor, patch, is a release, pre-release, x.y.z[-pre]): sorts by precedence
    if m := SEMVER.fullmatch(tag):
        pre = tuple((0, int(i)) if i.isdigit() else (1, i) for i in m[5].split(".")) if m[5] else ()
        return int(m[2]), int(m[3]), int(m[4]), not pre, pre, m[1]
def dotted(tag):  # None, or (numbers, v, count, first's width): one v and one count or width compete (24.04.2, 24.10)
    if m := re.fullmatch(r"(v?)([0-9]+(?:\.[0-9]+)+)", tag):
        return [*map(int, m[2].split("."))], m[1], m[2].count("."), len(m[2].split(".")[0])

STANDARD = "type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=semver,pattern={{major}}"
def floating_decision(env, tags):  # the step's outputs, from its environment and the repository's tags
    pushed = env.get("GITHUB_REF_NAME", "") if env.get("GITHUB_REF_TYPE", "tag") == "tag" else ""
    allow = env.get("ALLOW_PRERELEASE_FLOATING", "").strip().lower() == "true"  # pre-releases float and compete
    rules, d = [r for r in env.get("SEMVER_RULES", STANDARD).splitlines() if r.strip()], dotted(pushed)
    if "type=ref,event=tag" in rules and not (parse_version(pushed) and "type=semver" in str(rules)):  # e.g. CalVer
        higher = [t for t in tags if (p := dotted(t)) and d and (p[1:3] == d[1:3] or p[1::2] == d[1::2]) and p > d]
        why = "not a dotted version" if not d else f"{max(higher, key=dotted)} is higher" if higher else ""
        print(f"latest: {'no, ' + why if why else 'yes'}")
        tags = [r for r in (*rules, "type=raw,value=latest") if r.startswith(("type=ref", "type=raw")[:2 - bool(why)])]
        return {"latest": not why, "major": False, "minor": False, "version": pushed * bool(d), "tags": tags}
    if not (v := parse_version(pushed)):
        print(f"{pushed or 'this ref'} is not a version tag: no version or floating tags")
        return {"latest": False, "major": False, "minor": False, "version": "", "tags": []}
    higher = [p for t in tags if (p := parse_version(t)) and p > v and (p[3] or allow)]
    moves, out = {}, []
    for name, scope in (("latest", 0), ("major", 1), ("minor", 2)):
        top = max((p for p in higher if p[:scope] == v[:scope]), default=None)
        why = ("a pre-release (ALLOW_PRERELEASE_FLOATING is off)" if not (v[3] or allow)
               else f"{top[5]} is higher" if top else "0.y.z is unstable" if scope == 1 and v[0] == 0 else "")
        moves[name] = not why
        print(f"{'.'.join(map(str, v[:scope])) or 'latest'}: {'no, ' + why if why else 'yes'}")
    for rule in rules:
        gate = next((g for g in ("version", "patch", "minor", "major") if "{{" + g + "}}" in rule), "")  # finest first
        if moves.get(gate or ("latest" if rule.startswith("type=raw") else ""), True):  # a raw rule: as latest
            raw = rule.split("pattern=", 1)[-1].replace("{{major}}", str(v[0])).replace("{{minor}}", str(v[1]))
            out.append(rule if v[3] or gate not in moves else f"type=raw,value={raw}")  # pre-release patterns: raw
    return {**moves, "version": v[5], "tags": out + ["type=raw,value=latest"] * moves["latest"]}

if __name__ == "__main__":
    import subprocess  # here: the generator imports the decision alone
    out = floating_decision(os.environ, subprocess.check_output(["git", "tag", "--list"], text=True).split())
    eof = f"EOF_{os.urandom(8).hex()}"  # a heredoc delimiter no rule contains
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as f:
        print(*(f"{k}={str(out[k]).lower()}" for k in ("latest", "major", "minor")), f"version={out['version']}",
              "flavor=latest=false", f"tags<<{eof}", *out["tags"], eof, sep="\n", file=f)
