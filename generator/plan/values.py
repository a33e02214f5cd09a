"""What one build is, as the values its jobs read: image references, tag rules, flavour, cache source.

Each value is keyed by the matrix key that carries it when the builds of a job differ in it
(matrix.py folds a group's builds into shared values and matrix rows)."""

from __future__ import annotations

from .. import cachekey
from ..model import Cache, Registry, Spec, TagRule, Variant
from ..platforms import Platform


def image_refs(spec: Spec, build: Variant) -> tuple[str, ...]:
    """Each registry's reference for the build (under the name the registry gives its repository). GHCR's
    default namespace is the repository owner, which may hold capitals: metadata-action lower-cases names,
    and so do our own scripts."""
    return tuple(image_ref(r, r.repository(build.repository)) for r in spec.registries)


def image_ref(registry: Registry, repository: str) -> str:
    """The registry's reference for a repository (`${{ inputs.repository }}` in the engine)."""
    namespace = "${{ github.repository_owner }}" if registry.namespace is None else registry.namespace
    return "/".join(part for part in (registry.host, namespace, repository) if part)


def renamed_input(slug: str) -> str:
    """The engine input a call passes when a registry names the build's repository otherwise."""
    return f"repository-{slug}"


def engine_image(registry: Registry, slug: str, renamed: bool, condition: str) -> str:
    """One line of the engine's IMAGES: the registry's reference for the call's repository (the call's own
    name for this registry when some call passes one), or on a run that skips the registry an empty line
    (every step that reads IMAGES skips empty lines)."""
    repository = f"inputs.{renamed_input(slug)} || inputs.repository" if renamed else "inputs.repository"
    if not condition:
        return image_ref(registry, f"${{{{ {repository} }}}}")
    namespace = "{0}" if registry.namespace is None else registry.namespace
    parts = [p for p in (registry.host, namespace, "{1}" if registry.namespace is None else "{0}") if p]
    values = (["github.repository_owner"] if registry.namespace is None else []) + [repository]
    condition = f"({condition})" if " || " in condition else condition  # `&&` binds before `||`
    return f"${{{{ {condition} && format('{'/'.join(parts)}', {', '.join(values)}) || '' }}}}"


# `on:` of a registry as a GitHub expression on the run (pushes of a tag and published releases both run on
# refs/tags/...); branch names are restricted by the schema to [A-Za-z0-9._/-]. A scheduled run is on the
# default branch, but its payload names no repository (so no default branch): it is one by its event.
_RUN_KINDS = {"tag": "github.ref_type == 'tag'", "schedule": "github.event_name == 'schedule'",
              "default-branch": "github.event_name == 'schedule' || "
                                "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"}


def run_kinds(registry: Registry) -> list[str]:
    """The kinds of run that publish to the registry (its `on:`), each an expression, once; [] for every run."""
    kinds = [_RUN_KINDS.get(on) or f"github.ref == 'refs/heads/{on.removeprefix('branch ')}'" for on in registry.on]
    return list(dict.fromkeys(k for kind in kinds for k in kind.split(" || ")))  # schedule once


def registry_condition(registry: Registry) -> str:
    """When a run publishes to the registry (besides env.PUSH), as a GitHub expression; "" for every run."""
    kinds = run_kinds(registry)
    if not registry.skip_without_secret:
        return " || ".join(kinds)
    secret = f"secrets.{registry.password_secret} != ''"
    return f"({' || '.join(kinds)}) && {secret}" if len(kinds) > 1 else " && ".join([*kinds, secret])


def needs_lowercase(spec: Spec) -> bool:
    """Whether an image name holds the repository owner (GHCR's default namespace), which may hold capitals."""
    return any(r.namespace is None for r in spec.registries)


# `on:` of a raw or date rule as metadata-action's `enable=`: its own expression for the default branch, else a
# GitHub expression the caller evaluates, made here from a branch name the schema restricts to
# [A-Za-z0-9._/-] (no quote, brace or space can reach it).
_ENABLE = {"default-branch": "{{is_default_branch}}", "tag": "${{ github.ref_type == 'tag' }}",
           "schedule": "${{ github.event_name == 'schedule' }}"}


def enable(on: str) -> str:
    """The `enable=` value for a rule's `on:` ("" for every run)."""
    if not on:
        return ""
    if on.startswith("branch "):
        return f"${{{{ github.ref == 'refs/heads/{on.removeprefix('branch ')}' }}}}"
    return _ENABLE[on]


def tag_line(rule: TagRule, prefix: str = "", name: str = "") -> str:
    """The rule as docker/metadata-action's `tags` input writes it, for a build whose tags take `prefix`
    and whose variant is `name`; "" for a rule that writes nothing for this build (`variant` without a name).
    metadata-action gives `type=sha` a `sha-` prefix of its own, which replaces the flavor's: without the
    build's prefix before it, every variant of a repository would write the same `sha-<short>`. A rule's own
    empty `prefix=` and `suffix=` replace the flavor's, so `variant` writes the name alone."""
    condition = f",enable={enable(rule.on)}" if rule.on else ""
    if rule.kind == "ref":
        return f"type=ref,event={rule.value}"
    if rule.kind == "semver":
        return f"type=semver,pattern={rule.value}"
    if rule.kind == "raw":
        return f"type=raw,value={rule.value}{condition}"
    if rule.kind == "schedule":
        return f"type=schedule,pattern={rule.value}"
    if rule.kind == "date":
        date = f"{{{{date '{rule.value}'}}}}"
        if rule.on == "schedule":  # metadata-action's own rule for scheduled runs
            return f"type=schedule,pattern={date}"
        return f"type=raw,value={date}{condition}"
    if rule.kind == "variant":
        return f"type=raw,value={name},prefix=,suffix=" if name else ""
    if rule.kind == "sha":
        form = f",format={rule.value}" if rule.value else ""
        return f"type=sha,prefix={prefix}sha-{form}" if prefix else f"type=sha{form}"
    return f"type={rule.kind}"


def tag_lines(rules: tuple[TagRule, ...], prefix: str = "", name: str = "") -> str:
    """The rules' lines for metadata-action's `tags` input, one a line, none for a rule that writes nothing."""
    return "".join(f"{line}\n" for line in (tag_line(r, prefix, name) for r in rules) if line)


def floats(spec: Spec, build: Variant) -> bool:
    """Whether release tags go through the floating-tags step: the workflow runs on tags (pushed, or a
    published release's) and the build has semver rules or the `tag` rule (CalVer and other schemes)."""
    return _floats(spec, build.tags)


def _waits(rule: TagRule) -> bool:
    """A rule the floating-tags step fires: semver rules, and the git tag verbatim, so that `latest` moves
    only to the highest tag (metadata-action's latest=auto would move it on every tag)."""
    return rule.kind == "semver" or (rule.kind == "ref" and rule.value == "tag")


def _floats(spec: Spec, rules: tuple[TagRule, ...]) -> bool:
    return (bool(spec.triggers.tags) or spec.triggers.releases) and any(_waits(r) for r in rules)


NOT_TAG = "${{ github.ref_type != 'tag' }}"


def release_rules(spec: Spec, rules: tuple[TagRule, ...], prefix: str = "", name: str = "") -> tuple[str, str]:
    """metadata-action's tag rules, and apart from them the rules that wait for the floating-tags decision
    when the workflow runs on tags ("" when it does not: then they are tag rules too). The variant's bare
    name floats like `latest` (a lower release or a pre-release never takes it): on tag runs it waits for the
    decision, on the others it is a tag rule as before."""
    if not _floats(spec, rules):
        return tag_lines(rules, prefix, name), ""
    stays = "".join(f"{line},enable={NOT_TAG}\n" if rule.kind == "variant" else f"{line}\n"
                    for rule in rules if not _waits(rule) and (line := tag_line(rule, prefix, name)))
    return stays, tag_lines(tuple(r for r in rules if _waits(r) or r.kind == "variant"), name=name)


def cache_tag(build: Variant, pair: str = "") -> str:
    """The registry cache's tag, decorated like the build's own tags: builds that share a repository differ
    in prefix or suffix (validation sees to it), so each build and platform gets a cache of its own."""
    return f"{build.prefix}buildcache{build.suffix}" + (f"-{pair}" if pair else "")


def cache_source(spec: Spec, build: Variant, pair: str = "", platform: Platform | None = None) -> str:
    """Where the build's cache lives (cache-from; cache-to adds its options), per platform when `pair`. A
    repository of its own: the key template filled in for the leg's `platform` (None: every platform),
    `{branch}` left for the legs to fill in."""
    if build.cache is Cache.NONE:
        return ""
    if build.cache is Cache.REPOSITORY:
        key = cachekey.render(build.cache_key, build.image, build.name, platform)
        return f"type=registry,ref={build.cache_repository}:{key}"
    if build.cache is Cache.GHA:
        return f"type=gha,scope={build.key}--{pair}" if pair else f"type=gha,scope={build.key}"
    first = spec.registries[0]
    return f"type=registry,ref={image_ref(first, first.repository(build.repository))}:{cache_tag(build, pair)}"


def build_args(pairs: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"{k}={v}\n" for k, v in pairs)
