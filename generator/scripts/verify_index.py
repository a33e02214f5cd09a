# Fails unless each pushed index lists exactly the expected platforms (attestations aside) and the image
# behind every entry was built for the platform the entry claims; writes the job summary table.
import json
import os
import subprocess
import sys


def described(p):
    os_name, arch, variant = p.get("os", ""), p.get("architecture", ""), p.get("variant", "")
    variant = "" if (arch, variant) == ("arm64", "v8") else variant  # arm64 and arm64/v8 are one platform
    return "/".join(part for part in (os_name, arch, variant) if part)


def check_index(index, config_of, expected):
    """Problems found, and (claimed platform, digest, actual platform) rows."""
    if "manifests" not in index:
        return ["the tag holds a single-platform image, not a multi-platform index"], []
    problems, rows, seen = [], [], set()
    for entry in index["manifests"]:
        kind = (entry.get("annotations") or {}).get("vnd.docker.reference.type")
        if kind == "attestation-manifest" or (entry.get("platform") or {}).get("os") == "unknown":
            continue
        claimed, digest = described(entry.get("platform") or {}), entry.get("digest", "")
        if claimed in seen:
            problems.append(f"{claimed} appears twice")
        seen.add(claimed)
        actual = described(config_of(digest))
        rows.append((claimed, digest, actual))
        if actual != claimed:
            problems.append(f"the {claimed} entry holds an image built for {actual or 'no platform'} ({digest})")
    problems += [f"{p} is missing" for p in sorted(set(expected) - seen)]
    problems += [f"{p} was not asked for" for p in sorted(seen - set(expected))]
    return problems, rows


def inspect(*args):
    command = ["docker", "buildx", "imagetools", "inspect", *args]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def main():
    runners = dict(line.split(": ", 1) for line in os.environ["PLATFORMS"].splitlines() if line)
    version = os.environ["DOCKER_METADATA_OUTPUT_VERSION"]
    summary = ["| image | platform | runner | digest | built for |", "|---|---|---|---|---|"]
    failed = False
    for image in os.environ["IMAGES"].split():
        repo = image.lower()
        ref = f"{repo}:{version}"
        problems, rows = check_index(
            inspect("--raw", ref), lambda d, repo=repo: inspect(f"{repo}@{d}", "--format", "{{json .Image}}"), runners)
        summary += [f"| `{repo}` | {c} | {runners.get(c, '-')} | `{d}` | {a} |" for c, d, a in rows]
        for problem in problems:
            print(f"::error title={ref}::{problem}")
        print(f"{ref}: {'wrong platforms' if problems else 'ok'} ({', '.join(c for c, _, _ in rows)})")
        failed = failed or bool(problems)
    tags = json.loads(os.environ["DOCKER_METADATA_OUTPUT_JSON"])["tags"]
    summary += ["", "Tags:", *(f"- `{tag}`" for tag in tags)]
    with open(os.environ.get("GITHUB_STEP_SUMMARY", os.devnull), "a", encoding="utf-8") as out:
        out.write("\n".join(summary) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
