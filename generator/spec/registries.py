"""The registries a spec names: complete for their type, OIDC logins with their companions, and the
conditions a registry may carry (never on the first one, where every publishing run pushes and verifies)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import Problem
from .defaults import REGISTRY_HOSTS
from .document import Document

# What each registry type needs, and what it must not be given.
_REGISTRY_NEEDS = {
    "ghcr": (), "dockerhub": ("namespace",), "ecr": ("host", "role", "region"), "gar": ("host", "namespace"),
    "acr": ("host",), "generic": ("host", "username-secret", "password-secret"),
}
_EVERY_REGISTRY = {"type", "namespace", "repositories", "on", "skip-without-secret", "environment"}
_REGISTRY_ALLOWS = {
    "ghcr": _EVERY_REGISTRY,
    "dockerhub": _EVERY_REGISTRY | {"username-secret", "password-secret"},
    "ecr": _EVERY_REGISTRY | {"host", "role", "region"},
    "gar": _EVERY_REGISTRY | {"host", "password-secret", "workload-identity-provider", "service-account"},
    "acr": _EVERY_REGISTRY | {"host", "username-secret", "password-secret", "client-id", "tenant-id",
                              "subscription-id"},
    "generic": _EVERY_REGISTRY | {"host", "username-secret", "password-secret"},
}
# OIDC logins: the key that chooses one, the keys it needs with it, the secrets it replaces.
_OIDC = {"gar": ("workload-identity-provider", ("service-account",), ("password-secret",)),
         "acr": ("client-id", ("tenant-id", "subscription-id"), ("username-secret", "password-secret"))}
_REGISTRY_HOSTS = {
    "ecr": r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?",
    "gar": r"[a-z0-9-]+-docker\.pkg\.dev",
    "acr": r"[a-z0-9]+\.azurecr\.(io|cn|us)",
}


def registry_problems(doc: Document, registries: list[Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    known = set().union(*_REGISTRY_ALLOWS.values())
    for i, reg in enumerate(registries):
        if not isinstance(reg, dict) or not isinstance(reg.get("type"), str) or reg["type"] not in _REGISTRY_NEEDS:
            continue
        kind, path = reg["type"], ("registries", i)
        for key in _REGISTRY_NEEDS[kind]:
            if key not in reg:
                hint = "your Docker Hub user or organisation name" if kind == "dockerhub" else ""
                problems.append(doc.problem(path, f'registries[{i}] ({kind}) needs "{key}"', hint))
        for key in sorted(set(reg) - _REGISTRY_ALLOWS[kind]):
            if key in known:
                problems.append(doc.problem((*path, key), f'registries[{i}]: "{key}" does not apply to {kind}',
                                            "ghcr logs in with GITHUB_TOKEN" if kind == "ghcr" else "", key=True))
        problems += _oidc_problems(doc, reg, i)
        problems += _condition_problems(doc, reg, i)
        if isinstance(reg.get("environment"), str):
            first = next((j for j, r in enumerate(registries[:i]) if isinstance(r, dict)
                          and isinstance(r.get("environment"), str) and r["environment"] != reg["environment"]), None)
            if first is not None:
                other = registries[first]["environment"]
                problems.append(doc.problem((*path, "environment"), f'registries[{i}]: environment '
                                            f'"{reg["environment"]}" differs from registries[{first}]\'s "{other}"',
                                            "a job enters one environment: keep the secrets of every such registry "
                                            "in one", key=True))
        pattern = _REGISTRY_HOSTS.get(kind)
        if pattern and isinstance(reg.get("host"), str) and not re.fullmatch(pattern, reg["host"]):
            problems.append(doc.problem((*path, "host"), f'registries[{i}]: "{reg["host"]}" is not an {kind} host',
                                        {"ecr": "<account>.dkr.ecr.<region>.amazonaws.com",
                                         "gar": "<location>-docker.pkg.dev", "acr": "<name>.azurecr.io"}[kind]))
        host = str(reg.get("host", REGISTRY_HOSTS.get(kind, "")))  # a host it needs and lacks is reported above
        ident = (host, str(reg.get("namespace", "")))
        if ident in seen:
            problems.append(doc.problem(path, f"registries[{i}] repeats registries[{seen[ident]}]"))
        seen.setdefault(ident, i)
    return problems


def _oidc_problems(doc: Document, reg: dict[str, Any], i: int) -> list[Problem]:
    """An OIDC login (GAR's workload identity federation, ACR's federated credential) needs its companions
    and replaces the stored secrets; a companion alone would be ignored without a word."""
    kind, path = reg["type"], ("registries", i)
    if kind not in _OIDC:
        return []
    chooser, companions, replaced = _OIDC[kind]
    if chooser in reg:
        problems = [doc.problem(path, f'registries[{i}] ({kind}) logs in through OIDC with "{chooser}" and needs '
                                f'"{key}"') for key in companions if key not in reg]
        problems += [doc.problem((*path, key), f'registries[{i}]: "{key}" is not used with "{chooser}" (OIDC stores no '
                                 "secret)", "remove it", key=True) for key in replaced if key in reg]
        return problems
    return [doc.problem((*path, key), f'registries[{i}]: "{key}" needs "{chooser}" (the OIDC login)',
                        f'add "{chooser}", or remove "{key}" to log in with stored secrets', key=True)
            for key in companions if key in reg]


def _condition_problems(doc: Document, reg: dict[str, Any], i: int) -> list[Problem]:
    """Every publishing run pushes to the first registry, where the merge verifies the images before any tag:
    it cannot be skipped. Skipping without a secret needs a secret to look at."""
    path = ("registries", i)
    problems = []
    if i == 0:
        problems += [doc.problem((*path, key), f'registries[0]: "{key}" does not apply to the first registry',
                                 "every publishing run pushes to the first registry and verifies the images there; "
                                 "put an unconditional registry first", key=True)
                     for key in ("on", "skip-without-secret", "environment") if key in reg]
    elif "environment" in reg and reg.get("skip-without-secret") is True:
        problems.append(doc.problem((*path, "skip-without-secret"), f'registries[{i}]: "skip-without-secret" with '
                                    '"environment": whether the secret is set is judged before any job enters the '
                                    "environment", "keep the secret outside the environment, or publish there on "
                                    "every run the registry's `on` allows", key=True))
    elif "environment" in reg and (reg["type"] in ("ghcr", "ecr") or any(k in reg for k, _, _ in _OIDC.values())):
        problems.append(doc.problem((*path, "environment"), f'registries[{i}]: "environment" needs a registry that '
                                    "logs in with a stored secret", "ghcr and OIDC logins store none", key=True))
    elif reg.get("skip-without-secret") is True and (reg["type"] in ("ghcr", "ecr") or
                                                     any(k in reg for k, _, _ in _OIDC.values())):
        problems.append(doc.problem((*path, "skip-without-secret"),
                                    f'registries[{i}]: "skip-without-secret" needs a registry that logs in with a '
                                    "stored secret", "ghcr and OIDC logins store none", key=True))
    return problems
