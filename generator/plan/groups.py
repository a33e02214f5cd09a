"""Which builds share a job: builds of one image with the same job shape, the same base and the same smoke
test. Whatever differs between them becomes a matrix value; whatever they share stays written out."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Image, Spec, Strategy, Variant
from ..strategy import BuildDecision, Decisions


@dataclass(frozen=True)
class Group:
    """Builds that share one job (and one merge job, for native)."""

    image: Image
    builds: tuple[Variant, ...]
    strategy: Strategy  # NATIVE: a leg per platform; QEMU: one job for every platform (qemu or buildx)
    base: Variant | None  # the build they all start from, if any
    job_suffix: str  # "" when the workflow holds only this group
    decisions: Decisions  # every build's, by key

    def decided(self, build: Variant) -> BuildDecision:
        return self.decisions[build.key]

    def job_id(self, kind: str) -> str:
        return f"{kind}-{self.job_suffix}" if self.job_suffix else kind

    @property
    def title(self) -> str:
        if len(self.builds) == 1:
            return self.builds[0].label
        return f"{self.image.name} ({', '.join(b.name for b in self.builds)})"


GroupKey = tuple[str, Strategy, str, object]  # image, job shape, base build's key, smoke test


def groups(spec: Spec, decisions: Decisions, images: list[Image]) -> list[Group]:
    """Builds grouped by (image, job shape, base), ordered so that a base's group comes first. qemu and
    buildx builds share the one-job shape (a build with nothing to emulate simply skips QEMU)."""
    keyed: dict[GroupKey, list[Variant]] = {}
    for image in images:
        for build in image.variants:
            base = spec.variant(build.base.image, build.base.variant).key if build.base else ""
            shape = Strategy.NATIVE if decisions[build.key].legs_apart else Strategy.QEMU
            keyed.setdefault((image.name, shape, base, build.test), []).append(build)
    ordered: list[tuple[GroupKey, list[Variant]]] = []
    placed: set[str] = set()
    pending = list(keyed.items())
    while pending:
        ready = [item for item in pending if not item[0][2] or item[0][2] in placed]
        item = ready[0] if ready else pending[0]  # a cycle was refused by validation
        pending.remove(item)
        ordered.append(item)
        placed.update(b.key for b in item[1])
    by_image: dict[str, int] = {}
    for (image_name, _, _, _), _builds in ordered:
        by_image[image_name] = by_image.get(image_name, 0) + 1
    found = []
    taken: set[str] = set()
    for (image_name, strategy, base_key, _), builds in ordered:
        image = next(i for i in images if i.name == image_name)
        if len(ordered) == 1:
            suffix = ""
        else:
            # Job IDs take letters, digits, '_' and '-': names may also hold '.'.
            raw = image_name if by_image[image_name] == 1 else f"{image_name}-{builds[0].name}"
            suffix = candidate = raw.replace(".", "_")
            n = 2
            while suffix in taken:
                suffix, n = f"{candidate}-{n}", n + 1
            taken.add(suffix)
        base_build = next((b for i in spec.images for b in i.variants if b.key == base_key), None)
        found.append(Group(image, tuple(builds), strategy, base_build, suffix, decisions))
    return found
