"""generator.spec.defaults: every default comes from the schema, and every default the schema declares is
the one a build gets.

Two specs exercise every default: MINIMAL sets nothing it need not, NESTED sets the mappings whose keys
have defaults of their own (a smoke test, a base, a per-platform override, registries of each kind).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from generator.model import Spec
from generator.spec import Document, build_spec, load_schema
from generator.spec import defaults as defaults_module
from generator.spec.defaults import schema_default, setting

MINIMAL: dict[str, Any] = {"version": 1, "images": {"app": {}}}
NESTED: dict[str, Any] = {
    "version": 1,
    "registries": [
        {"type": "ghcr"},
        {"type": "dockerhub", "namespace": "acme"},
        {"type": "gar", "host": "europe-docker.pkg.dev", "namespace": "proj/repo"},
        {"type": "acr", "host": "acme.azurecr.io"},
    ],
    "triggers": {},
    "defaults": {},
    "images": {
        "base": {"cache": {"repository": "ghcr.io/acme/cache"}},
        "app": {
            "from": {"image": "base"},
            "test": {"command": ["--version"]},
            "per-platform": {"linux/arm64": {"runner": "arm-big"}},
        },
        # No variant says it is the primary, and the first one has a suffix: the default decides.
        "multi": {"variants": {"slim": {"suffix": "-slim"}, "full": {}}},
    },
}

# Where the schema declares a default -> another value for it. A default with no entry here fails
# test_every_declared_default_is_listed: add it, and the build must then follow it.
OTHER_VALUE: dict[str, Any] = {
    "registries": [{"type": "dockerhub", "namespace": "other"}],
    "triggers": {"manual": False},
    "triggers.branches": ["develop"],
    "triggers.tags": ["release-*"],
    "triggers.pull-requests": False,
    "triggers.self-hosted-pull-requests": True,
    "triggers.releases": True,
    "triggers.merge-queue": True,
    "triggers.manual": False,
    "triggers.schedule": ["0 3 * * 1"],
    "defaults": {"sbom": True},
    "runners": {"linux/arm64": "arm-big"},
    "actions": {"actions/checkout": {"release": "v9.9.9", "commit": "0" * 40}},
    "check-workflow": True,
    "build.context": "src",
    "build.platforms": ["linux/amd64"],
    "build.strategy": "qemu",
    "build.objective": "cost",
    "build.cache": "none",
    "build.provenance": "max",
    "build.timeout-minutes": 30,
    "build.tags": ["sha"],
    "build.runners": {"linux/amd64": "x64-big"},
    "build.build-args": {"EXTRA": "1"},
    "build.pull-request-cache": "off",
    "build.from.build-arg": "PARENT",
    "build.per-arch-tags": True,
    "build.primary": True,
    "build.prerelease-floating": True,
    "build.sbom": True,
    "build.sign": True,
    "build.attest": True,
    "build.oci-artifact-attestations": False,
    "build.per-platform": {"linux/arm64": {"runner": "arm-big"}},
    "build.test.expect-exit": 3,
    "build.test.timeout-seconds": 30,
    "override.build-args": {"EXTRA": "1"},
    "cache.key": "{image}-{arch}",
    "registry.username-secret if dockerhub": "HUB_USER",
    "registry.password-secret if dockerhub": "HUB_TOKEN",
    "registry.password-secret if gar": "GAR_KEY",
    "registry.username-secret if acr": "AZ_USER",
    "registry.password-secret if acr": "AZ_PASSWORD",
}


def _declared(node: Any, pointer: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(JSON pointer, default) for every `default` in the schema, conditional ones included."""
    if isinstance(node, dict):
        if "default" in node:
            yield pointer, node["default"]
        for key, child in node.items():
            yield from _declared(child, (*pointer, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _declared(child, (*pointer, index))


def _site(pointer: tuple[str | int, ...], schema: dict[str, Any]) -> str:
    """The name OTHER_VALUE gives a default: a build's keys are declared three times (under `defaults:`,
    an image and a variant) and are one default."""
    if pointer[:2] == ("$defs", "registry"):
        index = pointer[3]
        assert isinstance(index, int)
        kind = schema["$defs"]["registry"]["allOf"][index]["if"]["properties"]["type"]["const"]
        return f"registry.{pointer[-1]} if {kind}"
    if pointer[:2] in (("$defs", "image"), ("$defs", "variant"), ("properties", "defaults")) and len(pointer) > 2:
        head, rest = "build", pointer[2:]
    elif pointer[:2] == ("$defs", "platformOverride"):
        head, rest = "override", pointer[2:]
    elif pointer[:2] == ("$defs", "cache"):
        head, rest = "cache", pointer[2:]
    elif pointer[:2] == ("$defs", "baseImage"):  # an input of `from:`
        head, rest = "build.from", pointer[2:]
    else:
        head, rest = "", pointer
    names = [str(part) for i, part in enumerate(rest) if i and rest[i - 1] == "properties"]
    return ".".join([head, *names] if head else names)


def _build(data: dict[str, Any]) -> Spec:
    return build_spec(Document(".github/multiarch.yaml", copy.deepcopy(data)))


def _both() -> tuple[Spec, Spec]:
    return _build(MINIMAL), _build(NESTED)


def test_every_declared_default_is_listed() -> None:
    schema = load_schema()
    sites = {_site(pointer, schema) for pointer, _ in _declared(schema)}
    assert sites == set(OTHER_VALUE)


@pytest.mark.parametrize("site", sorted(OTHER_VALUE))
def test_the_build_follows_each_default_of_the_schema(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Change one default in the schema, and the Spec built from MINIMAL or NESTED changes: the code read
    it, rather than a value of its own that happens to agree today."""
    schema = load_schema()
    changed = copy.deepcopy(schema)
    pointers = [pointer for pointer, _ in _declared(schema) if _site(pointer, schema) == site]
    for pointer in pointers:
        node: Any = changed
        for part in pointer:
            node = node[part]
        assert node["default"] != OTHER_VALUE[site], f"OTHER_VALUE[{site!r}] must differ from the default"
        node["default"] = copy.deepcopy(OTHER_VALUE[site])
    before = _both()
    monkeypatch.setattr(defaults_module, "load_schema", lambda: changed)
    assert _both() != before, f"the build ignores the schema's default for {site}"


def test_writing_the_defaults_out_builds_the_same_spec() -> None:
    """What the schema says is the default is what a build gets when the key is left out."""
    schema = load_schema()
    top, defs = schema["properties"], schema["$defs"]

    def fill(mapping: dict[str, Any], properties: dict[str, Any]) -> None:
        for key, node in properties.items():
            if "default" in node:
                mapping.setdefault(key, copy.deepcopy(node["default"]))

    for data in (MINIMAL, NESTED):
        explicit = copy.deepcopy(data)
        fill(explicit, top)
        fill(explicit["triggers"], top["triggers"]["properties"])
        fill(explicit["defaults"], top["defaults"]["properties"])
        for image in explicit["images"].values():
            # Only the image's keys: a variant's default is its image's value, not the schema's.
            fill(image, defs["image"]["properties"])
            if isinstance(image.get("from"), dict):
                fill(image["from"], defs["baseImage"]["oneOf"][1]["properties"])
            if "test" in image:
                fill(image["test"], defs["image"]["properties"]["test"]["properties"])
            for override in image["per-platform"].values():
                fill(override, defs["platformOverride"]["properties"])
        for registry in explicit["registries"]:
            for case in defs["registry"]["allOf"]:
                if registry["type"] == case["if"]["properties"]["type"]["const"]:
                    fill(registry, case["then"]["properties"])
        assert explicit != data
        assert _build(explicit) == _build(data)


def test_a_build_key_has_one_default_wherever_it_is_declared() -> None:
    """`defaults:`, an image and a variant declare the same keys; their defaults must agree."""
    schema = load_schema()
    places = [schema["properties"]["defaults"]["properties"], schema["$defs"]["image"]["properties"],
              schema["$defs"]["variant"]["properties"]]
    for key in set().union(*places):
        declared = [place[key]["default"] for place in places if key in place and "default" in place[key]]
        assert all(value == declared[0] for value in declared), key


def test_schema_default_by_path_and_by_neighbour() -> None:
    assert schema_default("triggers.manual") is True
    assert schema_default("images.<name>.test.timeout-seconds") == 120
    assert schema_default("images.app.variants.slim.from.build-arg") == "BASE_IMAGE"
    assert schema_default("registries[].password-secret", {"type": "gar"}) == "GAR_JSON_KEY"
    with pytest.raises(KeyError, match="no default for registries"):
        schema_default("registries[].password-secret", {"type": "generic"})
    with pytest.raises(KeyError, match=r"no default for images\.<name>\.target"):
        schema_default("images.<name>.target")


def test_setting_prefers_the_spec_and_copies_the_default() -> None:
    assert setting({"manual": False}, "manual", "triggers") is False
    platforms = setting({}, "platforms", "defaults")
    platforms.append("linux/s390x")
    assert setting({}, "platforms", "defaults") == ["linux/amd64", "linux/arm64"], "a caller cannot change it"
