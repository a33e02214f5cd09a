"""Commands the generated scripts run, answered from the registry model (model.py) instead of a
daemon and the network: `docker buildx imagetools create/inspect`, `docker run`, `cosign sign`, and
`python3 -m venv` + `pip install --require-hashes -r <lock>` (the drift guard's install).

Served by server.py for the `docker` and `cosign` clients harness.write_shims puts first on PATH. An
unknown reference fails as a registry answers it; a command the model does not implement fails loudly
rather than pretending.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from . import model

VALUE_FLAGS = {"-t", "--tag", "--annotation", "-f", "--file", "--builder", "--platform", "--format", "-e",
               "--env", "--entrypoint", "--name", "-v", "--volume", "-w", "--workdir", "--user", "-u",
               "--network", "--progress", "--certificate-identity", "--certificate-oidc-issuer", "--key",
               "-a", "--annotations", "--identity-token", "--oidc-provider", "-r", "--requirement", "--only-binary",
               "-n", "--output", "--query"}


def parse(args: list[str], *, interspersed: bool = True) -> tuple[dict[str, list[str]], list[str]]:
    """Flags (every value kept, in order) and positional arguments. Without interspersed (`docker
    run`), everything after the first positional belongs to the container."""
    flags: dict[str, list[str]] = {}
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and (interspersed or not rest):
            key, sep, value = arg.partition("=")
            if not sep and key in VALUE_FLAGS:
                i += 1
                value = args[i] if i < len(args) else ""
            flags.setdefault(key, []).append(value if (sep or key in VALUE_FLAGS) else "true")
        else:
            rest.append(arg)
        i += 1
    return flags, rest


def not_found(ref: str) -> None:
    model.fail(f"{ref}: not found")


# -------------------------------------------------------------------------------------- imagetools


def imagetools_create(args: list[str]) -> None:
    flags, sources = parse(args)
    tags = flags.get("-t", []) + flags.get("--tag", [])
    annotations = flags.get("--annotation", [])
    dry_run = "--dry-run" in flags  # buildx prints the index's bytes (those it would push) and a line break
    if "-f" in flags or "--file" in flags or "--append" in flags:
        model.fail("the imagetools model implements neither --file nor --append")
    if not sources:
        model.fail("no sources specified")
    if not tags and not dry_run:
        model.fail("can't push with no tags specified, please set --tag or --dry-run")
    with model.registry() as reg:
        descriptors: list[dict[str, Any]] = []
        found = []
        for src in sources:
            hit = model.resolve(reg, src)
            if hit is None:
                model.record("imagetools-create", sources=sources, tags=tags, failed=f"{src}: not found")
                not_found(src)
            assert hit is not None
            found.append(hit)
            repo, digest, manifest = hit
            if manifest["mediaType"] == model.INDEX:
                descriptors.extend(manifest["manifests"])
            else:
                descriptors.append({"mediaType": manifest["mediaType"], "digest": digest,
                                    "platform": manifest["platform"]})
        index_annotations = {}
        for a in annotations:
            level, _, kv = a.rpartition(":") if re.match(r"^(index|manifest|manifest-descriptor|index-descriptor)"
                                                         r"(\[[^]]*\])?:", a) else ("", "", a)
            key, _, value = kv.partition("=")
            if level in ("", "index"):
                index_annotations[key] = value
        if len(found) == 1 and not index_annotations:
            # buildx's Combine: a single source without annotations is tagged as it is.
            top, source_repo = found[0][2], found[0][0]
        else:
            unique = list({d["digest"]: d for d in descriptors}.values())
            top = {"mediaType": model.INDEX, "schemaVersion": 2, "manifests": unique}
            if index_annotations:
                top["annotations"] = index_annotations
            source_repo = found[0][0]
        if dry_run:  # the model's bytes of a manifest are those its digest is of (model.digest_of)
            model.out(json.dumps(top, sort_keys=True, separators=(",", ":")))
            return
        rid = model.record("imagetools-create", sources=sources, tags=tags, digest=model.digest_of(top),
                           source_digests=[d for _, d, _ in found])
        for tag_ref in tags:
            repo, tag, _ = model.split_ref(tag_ref)
            host = model.registry_host(repo)
            if host not in reg.setdefault("logins", {}).get(model.runner_key(), []):
                model.fail(f"failed to push {tag_ref}: unauthorized: authentication required")
            store = reg["repos"].setdefault(repo, {"manifests": {}, "tags": {}})
            for src_repo, _, _ in found:  # children may come from every source repository
                for d in (x["digest"] for x in descriptors):
                    if d in reg["repos"][src_repo]["manifests"]:
                        store["manifests"].setdefault(d, reg["repos"][src_repo]["manifests"][d])
            digest = model.put_manifest(reg, repo, top, source_repo)
            model.put_tag(reg, repo, tag, digest, by=rid)
            model.out(f"#1 pushing {repo}:{tag}@{digest} done")


def described(manifest: dict[str, Any], digest: str) -> dict[str, Any]:
    out = {"schemaVersion": 2, "mediaType": manifest["mediaType"], "digest": digest,
           "size": len(json.dumps(manifest))}
    if manifest["mediaType"] == model.INDEX:
        out["manifests"] = manifest["manifests"]
    return out


def imagetools_inspect(args: list[str]) -> None:
    flags, refs = parse(args)
    if len(refs) != 1:
        model.fail("inspect requires exactly 1 argument")
    ref = refs[0]
    fmt = (flags.get("--format") or [""])[-1]
    raw = "--raw" in flags
    with model.registry() as reg:
        hit = model.resolve(reg, ref)
        model.record("imagetools-inspect", ref=ref, raw=raw, format=fmt, digest=hit[1] if hit else "",
                     failed="" if hit else "not found")
        if hit is None:
            not_found(ref)
        assert hit is not None
        repo, digest, manifest = hit
        if raw and fmt:
            model.fail("--format and --raw are mutually exclusive")
        if raw:
            public = {k: v for k, v in manifest.items() if k not in ("build", "attestation-for")}
            model.out(json.dumps(public, indent=2))
        elif fmt in ("{{json .Manifest}}", "{{ json .Manifest }}"):
            model.out(json.dumps(described(manifest, digest)))
        elif fmt in ("{{json .Image}}", "{{ json .Image }}"):
            if manifest["mediaType"] == model.INDEX:
                model.out(json.dumps({model.platform_text(m["platform"]): m["config"]
                                  for _, m in model.image_children(reg, repo, manifest)}))
            else:
                model.out(json.dumps(manifest["config"]))
        elif not fmt:
            model.out(f"Name:      {ref}\nMediaType: {manifest['mediaType']}\nDigest:    {digest}")
            for d, m in model.image_children(reg, repo, manifest):
                model.out(f"\nManifests:\n  Name:      {repo}@{d}\n  Platform:  {model.platform_text(m['platform'])}")
        else:
            model.fail(f"the imagetools model does not implement --format {fmt}")


# ------------------------------------------------------------------------------------------- run


def docker_run(args: list[str]) -> None:
    flags, rest = parse(args, interspersed=False)
    if not rest:
        model.fail('"docker run" requires at least 1 argument.')
    image, command = rest[0], rest[1:]
    wanted = (flags.get("--platform") or [""])[-1]
    with model.registry() as reg:
        local = reg["local"].get(model.runner_key(), [])
    hits = [i for i in local if image in i["names"] or f"docker.io/library/{image}" in i["names"]]
    rid = model.record("docker-run", image=image, args=command, platform=wanted,
                       build=hits[-1]["build"] if hits else "")
    del rid
    if not hits:
        model.err(f"Unable to find image '{image}' locally")
        model.fail(f"pull access denied for {image.split(':')[0]}, repository does not exist", code=125)
    loaded = hits[-1]
    if wanted and wanted != loaded["platform"]:
        model.fail(f"image with reference {image} was found but does not match the specified platform: "
                   f"wanted {wanted}, actual: {loaded['platform']}", code=125)
    # What the image does when run: the scenario's program, per platform (first match wins).
    for rule in model.scenario().get("programs", []):
        if rule.get("platform", "*") not in ("*", loaded["platform"]):
            continue
        if rule.get("args") is not None and rule["args"] != command:
            continue
        if rule.get("output"):
            model.out(rule["output"])
        raise SystemExit(int(rule.get("exit", 0)))
    model.fail(f"the scenario gives no program for {image} {' '.join(command)}", code=127)


def docker(args: list[str]) -> None:
    if args[:3] == ["buildx", "imagetools", "create"]:
        imagetools_create(args[3:])
    elif args[:3] == ["buildx", "imagetools", "inspect"]:
        imagetools_inspect(args[3:])
    elif args[:1] == ["run"]:
        docker_run(args[1:])
    else:
        model.record("docker-unsupported", args=args)
        model.fail(f"the docker model does not implement `docker {' '.join(args[:3])}`")


# -------------------------------------------------------------------------------------------- az


def az(args: list[str]) -> None:
    """`az acr login --name NAME --expose-token --output tsv --query accessToken`, after azure/login."""
    flags, rest = parse(args)
    if rest[:2] != ["acr", "login"] or "--expose-token" not in flags:
        model.record("az-unsupported", args=args)
        model.fail(f"the az model implements only `az acr login --expose-token`, not: az {' '.join(args)}")
    with model.registry() as reg:
        session = reg.get("azure", {}).get(model.runner_key())
    name = (flags.get("--name") or flags.get("-n") or [""])[-1]
    model.record("az-acr-token", registry=name, failed="" if session else "no session")
    if not session:
        model.fail("Please run 'az login' to setup account.")
    model.out(f"acr-token-{name}")


# ---------------------------------------------------------------------------------------- cosign


def cosign(args: list[str]) -> None:
    if args[:1] != ["sign"]:
        model.record("cosign-unsupported", args=args)
        model.fail(f"the cosign model does not implement `cosign {' '.join(args[:1])}`")
    flags, refs = parse(args[1:])
    perms = model.job_permissions()
    with model.registry() as reg:
        for ref in refs:
            hit = model.resolve(reg, ref)
            model.record("cosign-sign", ref=ref, digest=hit[1] if hit else "", failed="" if hit else "not found")
            if hit is None:
                model.fail(f"signing [{ref}]: accessing entity: GET https://{ref}: MANIFEST_UNKNOWN")
            assert hit is not None
            if "@sha256:" not in ref:
                model.out(f"WARNING: Image reference {ref} uses a tag, not a digest")
            if "--key" not in flags and perms.get("id-token") != "write":
                model.fail("getting signer: fetching ambient OIDC credentials: no id-token: write permission")
            host = model.registry_host(hit[0])
            if host not in reg.setdefault("logins", {}).get(model.runner_key(), []):
                model.fail(f"signing [{ref}]: writing the signature: UNAUTHORIZED")
            reg.setdefault("signatures", []).append({"repo": hit[0], "digest": hit[1]})
            model.out(f"Pushing signature to: {hit[0]}")


# ------------------------------------------------------------------------------------- venv, pip


def venv(args: list[str]) -> None:
    """`python3 -m venv DIR`: a directory whose pip is the model below (a real venv takes seconds)."""
    rest = parse(args)[1]
    if len(rest) != 1:
        model.fail("the venv model takes one directory")
    home = Path(model.env().get("PWD", ".")) / rest[0]
    (home / "bin").mkdir(parents=True, exist_ok=True)
    client = model.env()["BEHAVIOUR_CLIENT"]
    for name in ("pip", "pip3"):
        path = home / "bin" / name
        path.write_text(f'#!/bin/sh\nBEHAVIOUR_KIND=pip BEHAVIOUR_VENV="{home}" exec "{client}" "$@"\n')
        path.chmod(0o755)
    for name in ("python", "python3"):
        if not (home / "bin" / name).exists():
            (home / "bin" / name).symlink_to(sys.executable)
    model.record("venv", path=str(home))


REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^]]*\])?\s*(==\s*([^\s;]+))?")


def pip(args: list[str]) -> None:
    """`pip install --require-hashes [--only-binary :all:] -r LOCK` as pip refuses or installs it: every
    requirement pinned with == and hashed, the lock readable. Offline, the hashes' values cannot be
    checked against the index, and the only package there is is this checkout's gen-workflows, which
    `gen-workflows` in the venv then runs."""
    from generator import __version__

    flags, rest = parse(args)
    named = (flags.get("-r") or flags.get("--requirement") or [""])[-1]
    if rest[:1] != ["install"] or not named or "--require-hashes" not in flags:
        model.fail(f"the pip model installs only `install --require-hashes -r <lock>`, not: pip {' '.join(args)}")
    lock = Path(model.env().get("PWD", ".")) / named
    model.record("pip-install", lock=named)
    if not lock.is_file():
        model.fail(f"Could not open requirements file: [Errno 2] No such file or directory: '{named}'")
    text = re.sub(r"\\\n", " ", lock.read_text())
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = REQUIREMENT.match(line)
        if m is None:
            model.fail(f"Invalid requirement: {line!r}")
        if not m[3]:
            model.fail(f"In --require-hashes mode, all requirements must have their versions pinned with ==. "
                       f"These do not: {m[1]}")
        if not re.search(r"--hash=sha256:[0-9a-f]{64}\b", line):
            model.fail(f"Hashes are required in --require-hashes mode, but they are missing from some "
                       f"requirements: {m[1]}=={m[4]}")
        pins[m[1].lower().replace("_", "-")] = m[4]
    if pins.get("gen-workflows") != __version__:
        model.fail(f"Could not find a version that satisfies the requirement gen-workflows=="
                   f"{pins.get('gen-workflows', '(none in the lock)')} (offline, only {__version__} exists)")
    # This checkout's generator, whatever the interpreter's site-packages hold (an installed
    # gen-workflows may be another worktree's).
    checkout = Path(__file__).resolve().parents[2]
    target = Path(model.env()["BEHAVIOUR_VENV"]) / "bin/gen-workflows"
    # The workflows as generated, not as the harness adapted them for act (harness.act_token_in_called_workflows).
    kept = model.state_dir() / "act-compat"
    target.write_text(f'#!/bin/sh\n[ ! -d "{kept}" ] || cp -R "{kept}/." "${{GITHUB_WORKSPACE:-.}}/"\n'
                      f'PYTHONPATH="{checkout}" exec "{sys.executable}" -m generator "$@"\n')
    target.chmod(0o755)
    model.out(f"Successfully installed gen-workflows-{__version__}")
