"""Bundle size per function, from `make build` (infra/.aws-sam/build/<Function>/).

Unzipped: the sum of the artifact's file sizes (what counts against Lambda's 250 MB limit).
Zipped: the artifact deflated into a zip as `sam deploy` packages it (zipfile, ZIP_DEFLATED).
Targets (the issue): a function that does not talk to Alpaca ≤ 20 MB unzipped, the rest ≤ 130 MB;
a function talks to Alpaca when its requirements.txt lists alpaca-py. An extra, informational row
estimates the orchestrator without alpaca-py (which it bundles for the P&L report only): its
code plus the installed closure of its other requirements, from the artifact's dist-info metadata.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, Row, mb

SECTION = "bundle size"
ARTIFACTS = ROOT / "infra" / ".aws-sam" / "build"
MB = 2**20
ALPACA_TARGET = 130 * MB
PLAIN_TARGET = 20 * MB
OUR_PACKAGES = ("services", "shared")


def tree_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total


def zipped_size(path: Path) -> int:
    """The size of the artifact deflated into a zip, as SAM packages a function."""
    with tempfile.TemporaryDirectory(prefix="bench-zip-") as tmp:
        target = Path(tmp) / "function.zip"
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for dirpath, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = Path(dirpath) / name
                    archive.write(full, full.relative_to(path))
        return target.stat().st_size


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        text = line.split("#")[0].strip()
        if text:
            names.add(canonical(re.split(r"[<>=!~\[ ;]", text, maxsplit=1)[0]))
    return names


def talks_to_alpaca(service: str) -> bool:
    return "alpaca-py" in requirement_names(ROOT / "services" / service / "requirements.txt")


@dataclass(frozen=True)
class Distribution:
    name: str
    requires: frozenset[str]
    """Unconditional requirements (no extras; environment markers evaluated for Lambda)."""
    top_level: frozenset[str]
    """Entries at the artifact's top level that belong to it (packages, modules, its dist-info)."""


def _lambda_environment() -> dict[str, str]:
    return {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}


def _required(line: str) -> str | None:
    from packaging.requirements import Requirement

    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate(_lambda_environment()):
        return None
    return canonical(req.name)


def distributions(artifact: Path) -> dict[str, Distribution]:
    found = {}
    for info in sorted(artifact.glob("*.dist-info")):
        meta = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        name = canonical(re.search(r"^Name: (.+)$", meta, re.MULTILINE).group(1).strip())  # type: ignore[union-attr]
        requires = {r for line in re.findall(r"^Requires-Dist: (.+)$", meta, re.MULTILINE)
                    if (r := _required(line.strip())) is not None}
        top = {info.name}
        record = info / "RECORD"
        if record.exists():
            for row in record.read_text(encoding="utf-8", errors="replace").splitlines():
                first = row.split(",", 1)[0].split("/", 1)[0]
                if first and not first.startswith(".."):
                    top.add(first)
        found[name] = Distribution(name, frozenset(requires), frozenset(top))
    return found


def closure(roots: set[str], dists: dict[str, Distribution]) -> set[str]:
    seen: set[str] = set()
    stack = [canonical(r) for r in roots]
    while stack:
        name = stack.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        stack.extend(dists[name].requires)
    return seen


def size_without(artifact: Path, service: str, dropped: str, packages: Path | None = None) -> int:
    """The function's size with its own packages if `dropped` (and whatever only it needs) were not installed;
    `packages`: where the third-party packages are (the layer's python/; default: in the artifact)."""
    packages = packages or artifact
    dists = distributions(packages)
    keep = closure(requirement_names(ROOT / "services" / service / "requirements.txt") - {canonical(dropped)},
                   dists)
    ours = sum(tree_size(artifact / e) for e in (*OUR_PACKAGES, "__pycache__") if (artifact / e).is_dir())
    entries = {entry for name in keep for entry in dists[name].top_level}
    entries |= {"__pycache__"} if packages != artifact and (packages / "__pycache__").exists() else set()
    return ours + sum(tree_size(packages / e) if (packages / e).is_dir() else (packages / e).stat().st_size
                      for e in entries if (packages / e).exists())


LAYER = "DependenciesLayer"
"""The template's layer of third-party packages (infra/.aws-sam/build/DependenciesLayer/python)."""


def measure(artifacts: Path = ARTIFACTS, services: dict[str, str] | None = None,
            workers: int = 2) -> dict[str, tuple[int, int]]:
    """service -> (unzipped, zipped) bytes; `services` maps service -> artifact directory name. The
    layer, when built, is measured too, under the key "layer"."""
    services = services or {"strategy": "StrategyFunction", "portfolio": "PortfolioFunction",
                            "execution": "ExecutionFunction", "orchestrator": "OrchestratorFunction"}
    paths = {s: artifacts / d for s, d in services.items()}
    if (artifacts / LAYER).is_dir():
        paths["layer"] = artifacts / LAYER
    missing = [str(p) for p in paths.values() if not p.is_dir()]
    if missing:
        raise FileNotFoundError(f"no build artifact: {', '.join(missing)} (run `make build`)")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        zipped = dict(zip(paths, pool.map(zipped_size, paths.values()), strict=True))
    return {s: (tree_size(p), zipped[s]) for s, p in paths.items()}


def rows(artifacts: Path = ARTIFACTS) -> list[Row]:
    sizes = measure(artifacts)
    layer = sizes.pop("layer", None)
    layer_unzipped, layer_zipped = layer or (0, 0)
    out = []
    for service, (unzipped, zipped) in sizes.items():
        alpaca = talks_to_alpaca(service)
        limit = ALPACA_TARGET if alpaca else PLAIN_TARGET
        why = "talks to Alpaca" if alpaca else "no Alpaca"
        if service == "orchestrator" and alpaca:
            why = "talks to Alpaca: the P&L report only"
        if layer is None:
            out.append(Row(SECTION, f"{service}: unzipped (zipped)", f"{mb(unzipped)} ({mb(zipped)})",
                           target=f"≤ {limit // MB} MB ({why})", met=unzipped <= limit))
            continue
        total = unzipped + layer_unzipped  # what counts against Lambda's 250 MB: the function and its layers
        out.append(Row(SECTION, f"{service}: code + layer unzipped (code alone, zipped)",
                       f"{mb(total)} ({mb(unzipped)} code, {mb(zipped)} zipped)",
                       target=f"≤ {limit // MB} MB ({why})", met=total <= limit))
    if layer is not None:
        out.append(Row(SECTION, f"{LAYER}: unzipped (zipped)", f"{mb(layer_unzipped)} ({mb(layer_zipped)})"))
        before = sum(zipped + layer_zipped for _, zipped in sizes.values())
        after = sum(zipped for _, zipped in sizes.values()) + layer_zipped
        out.append(Row(SECTION, "total upload, zipped: each function with its packages (before the layer)",
                       mb(before), target="estimate: each function's code zip + the layer's zip"))
        out.append(Row(SECTION, "total upload, zipped: four functions + one layer (now)", mb(after),
                       target=f"< {mb(before)} (before)", met=after < before))
    orchestrator = artifacts / "OrchestratorFunction"
    if orchestrator.is_dir() and talks_to_alpaca("orchestrator"):
        packages = artifacts / LAYER / "python" if layer is not None else None
        estimate = size_without(orchestrator, "orchestrator", "alpaca-py", packages)
        out.append(Row(SECTION, "orchestrator without alpaca-py (estimate: P&L over plain HTTPS)", mb(estimate),
                       target=f"≤ {PLAIN_TARGET // MB} MB (no Alpaca)"))
    return out
