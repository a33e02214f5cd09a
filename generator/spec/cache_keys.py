"""The rules of a registry cache in a repository of its own (`cache: {repository, key}`), which the schema
cannot say: the repository is in a registry the legs log in to, and the key template names known
placeholders and gives every build and platform a key of its own, in a repository no build pushes its images to."""

from __future__ import annotations

import json
from typing import Any

from .. import cachekey
from ..errors import Problem
from ..platforms import Platform, parse_platform
from .defaults import REGISTRY_HOSTS, build_setting, setting
from .document import Document, Path_
from .schema import did_you_mean
from .units import RawUnit, variant_naming


def cache_key_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """A cache in a repository of its own: in a registry the legs log in to, a key template of known
    placeholders, and a key of its own for every build and platform (two legs writing one key would
    overwrite each other's cache). Reported where the template is written, once."""
    defaults = setting(data, "defaults")
    hosts = sorted({REGISTRY_HOSTS.get(r.get("type", ""), r.get("host", "")) for r in setting(data, "registries")})
    problems: list[Problem] = []
    reported: set[Path_] = set()
    owners: dict[str, tuple[str, Platform]] = {}
    pushed = _image_repositories(data, units)
    for unit in units:
        cache = build_setting(unit.values, defaults, "cache")
        if not isinstance(cache, dict):
            continue
        where = unit.where("cache") if "cache" in unit.values else ("defaults", "cache")
        key = setting(cache, "key", "defaults.cache")
        at = (*where, "key") if "key" in cache else where
        host = cache["repository"].split("/", 1)[0]
        if host not in hosts and where not in reported:
            problems.append(doc.problem((*where, "repository"), f'cache repository {cache["repository"]}: '
                                        f"{host} is no registry of this spec, so the legs never log in there",
                                        f"keep the cache in {' or '.join(hosts)}, or add {host} to registries"))
        cache_host, _, path = cache["repository"].partition("/")
        image, pushes = pushed.get(cache["repository"]), "pushes its images there"
        if image is None:  # GHCR's namespace is the repository's owner, known at run time only
            image = pushed.get(f"{cache_host}/*/{path.partition('/')[2]}")
            pushes = "may push its images there (GHCR's namespace is the repository's owner)"
        if image is not None and where not in reported:
            problems.append(doc.problem((*where, "repository"), f'cache repository {cache["repository"]}: "{image}" '
                                        f"{pushes}, and every publishing run's legs write the cache "
                                        "before the merge verifies anything (a cache key can be one of its tags)",
                                        "keep the cache in a repository of its own, such as "
                                        f"{cache['repository'].rsplit('/', 1)[0]}/cache"))
        unknown = [name for name in cachekey.placeholders(key) if name not in cachekey.PLACEHOLDERS]
        if unknown:
            if at not in reported:
                hint = did_you_mean(unknown[0], list(cachekey.PLACEHOLDERS)) or \
                    f"placeholders: {', '.join('{' + n + '}' for n in cachekey.PLACEHOLDERS)}"
                problems.append(doc.problem(at, f"cache key {json.dumps(key)}: unknown placeholder {{{unknown[0]}}}",
                                            hint))
            reported.add(at)
            continue
        platforms = [p for p in (parse_platform(str(raw)) for raw in build_setting(unit.values, defaults, "platforms"))
                     if p is not None]
        ref = cache["repository"] + ":"
        for platform in platforms:
            made = ref + cachekey.render(key, unit.image, unit.variant, platform)
            longest = made.removeprefix(ref).replace(cachekey.BRANCH, "x" * cachekey.BRANCH_MAX)
            if not cachekey.TAG.fullmatch(longest) and at not in reported:
                reported.add(at)
                why = "no tag" if not longest else f"a tag of {len(longest)} characters" \
                    if len(longest) > cachekey.TAG_MAX else f'the tag "{longest}", which starts with "{longest[0]}"'
                problems.append(doc.problem(at, f'cache key {json.dumps(key)}: for "{unit.label}" on {platform.name} '
                                            f"it makes {why}" + (f" with a branch of {cachekey.BRANCH_MAX}" if
                                                                 cachekey.BRANCH in made else ""),
                                            f"registries take tags of 1 to {cachekey.TAG_MAX} letters, digits, '_', "
                                            "'.' and '-', not starting with '.' or '-'"))
            first = owners.setdefault(made, (unit.label, platform))
            if first != (unit.label, platform) and at not in reported:
                reported.add(at)
                other = first[0]
                what, add = ((f'the platforms of "{other}"', "{arch} or {platform}") if other == unit.label
                             else (f'"{other}" and "{unit.label}"',
                                   "{variant}" if other.split("/")[0] == unit.image else "{image}"))
                problems.append(doc.problem(at, f"cache key {json.dumps(key)}: {what} would share the cache "
                                            f"{made.replace(cachekey.BRANCH, '<branch>')}, each overwriting the "
                                            "other's", f"add {add} to the key"))
    return problems


def _image_repositories(data: dict[str, Any], units: list[RawUnit]) -> dict[str, str]:
    """`host/namespace/name` -> the first build that pushes there, for each registry under the name it gives the
    build's repository; namespace `*` where GHCR's is the repository owner's (known only at run time)."""
    images = setting(data, "images")
    naming = {name: variant_naming(name, image) for name, image in images.items()}
    found: dict[str, str] = {}
    for registry in setting(data, "registries"):
        host = REGISTRY_HOSTS.get(registry["type"], registry.get("host", ""))
        namespace = registry.get("namespace", "*" if registry["type"] == "ghcr" else "")
        for unit in units:
            name = naming[unit.image][unit.variant].repository
            name = registry.get("repositories", {}).get(name, name)
            found.setdefault("/".join(part for part in (host, namespace, name) if part), unit.label)
    return found
