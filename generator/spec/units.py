"""Builds as the spec writes them: each image, or each of its variants with the image's keys beneath,
and which repository, prefix and suffix each one's tags get. Both the rules and the build read these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..record import record
from .defaults import VARIANT, schema_default
from .document import Path_


@dataclass
class RawUnit:
    """An image or one of its variants as the spec wrote it: the image's keys overlaid with the
    variant's, and for each key the path it came from (for messages)."""

    image: str
    variant: str
    node: Path_  # the variant's mapping, or the image's
    values: dict[str, Any]
    origin: dict[str, Path_]

    @property
    def label(self) -> str:
        return f"{self.image}/{self.variant}" if self.variant else self.image

    def where(self, key: str) -> Path_:
        return self.origin.get(key, self.node)


def raw_units(data: dict[str, Any]) -> list[RawUnit]:
    units: list[RawUnit] = []
    images = data.get("images")
    if not isinstance(images, dict):
        return units
    for name, image in images.items():
        if not isinstance(image, dict):
            continue
        own = {k: v for k, v in image.items() if k != "variants"}
        origin: dict[str, Path_] = {k: ("images", name, k) for k in own}
        variants = image.get("variants")
        if not isinstance(variants, dict) or not variants:
            units.append(RawUnit(name, "", ("images", name), own, origin))
            continue
        for vname, variant in variants.items():
            if not isinstance(variant, dict):
                continue
            values, where = dict(own), dict(origin)
            for key, value in variant.items():
                if key == "build-args" and isinstance(value, dict) and isinstance(values.get(key), dict):
                    value = {**values[key], **value}
                if key == "runners" and isinstance(value, dict) and isinstance(values.get(key), dict):
                    value = {**values[key], **value}
                if key == "context" and "dockerfile" not in variant:
                    values.pop("dockerfile", None)  # a variant's own context brings its own default Dockerfile
                values[key] = value
                where[key] = ("images", name, "variants", vname, key)
            units.append(RawUnit(name, vname, ("images", name, "variants", vname), values, where))
    return units


@record
class Naming:
    repository: str
    prefix: str
    suffix: str
    primary: bool


def variant_naming(name: str, image: dict[str, Any]) -> dict[str, Naming]:
    """Where each variant's tags go. Variants sharing the image's repository are told apart by a tag
    suffix (or prefix); exactly one of them, the primary, gets `latest` and the bare tags."""
    repository = image.get("repository", name)
    variants = image.get("variants")
    if not isinstance(variants, dict) or not variants:
        return {"": Naming(str(repository), "", "", True)}
    unset = schema_default(f"{VARIANT}.primary")
    declared = [v for v, raw in variants.items() if isinstance(raw, dict) and raw.get("primary", unset) is True]
    plain = [v for v, raw in variants.items() if isinstance(raw, dict)
             and not {"repository", "suffix", "prefix"} & set(raw)]
    primary = declared[0] if declared else (plain[0] if plain else None)
    naming = {}
    for vname, raw in variants.items():
        raw = raw if isinstance(raw, dict) else {}
        if "repository" in raw:
            naming[vname] = Naming(str(raw["repository"]), str(raw.get("prefix", "")), str(raw.get("suffix", "")),
                                   "prefix" not in raw and "suffix" not in raw)
        elif vname == primary:
            naming[vname] = Naming(str(repository), "", "", True)
        else:
            prefix = str(raw.get("prefix", ""))
            suffix = str(raw.get("suffix", "" if prefix else f"-{vname}"))
            naming[vname] = Naming(str(repository), prefix, suffix, False)
    return naming


def primary_variant(name: str, image: dict[str, Any]) -> str:
    """The variant `from: <image>` means: the primary, else the first one."""
    naming = variant_naming(name, image)
    return next((v for v, n in naming.items() if n.primary), next(iter(naming)))
