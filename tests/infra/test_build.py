"""The build recipe ships what each function's code imports, and nothing else (checked statically).

`make build` (not part of `make test`: it downloads ~120 MB of wheels) copies services/<name>/ and
the shared/ packages listed as SHARED_<name> in the Makefile into each function, and installs the
union of services/*/requirements.txt into one layer (DependenciesLayer) that every function uses.
These tests check those lists against the code's imports.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import metadata

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PROJECT_ROOT
from tests.infra import cfn
from tests.infra.code_imports import imports_of, reachable, service_packages, shared_packages, third_party_sites

MAKEFILE = PROJECT_ROOT / "Makefile"
LOCK = PROJECT_ROOT / "requirements" / "dev.lock"
# In the Lambda runtime already: never bundled.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer"}
# Imported only on paths that never run in AWS; their imports must stay inside functions.
LOCAL_ONLY = {
    "exchange_calendars": "the simulated broker and offline market data (ALCHEMISER_BACKEND=local)",
}
LAMBDA_MARKERS = {**default_environment(), "python_version": "3.12", "python_full_version": "3.12.0",
                  "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
                  "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def requirements(service: str) -> set[str]:
    lines = (PROJECT_ROOT / "services" / service / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip()]
    assert all(not r.extras and not r.marker for r in reqs), f"{service}: keep requirements to plain names"
    return {canonicalize_name(r.name) for r in reqs}


@cache
def closure(names: frozenset[str]) -> frozenset[str]:
    """Distributions pip installs for `names` on Lambda's Python 3.12 (from the dev venv's metadata)."""
    seen: set[str] = set()
    stack = list(names)
    while stack:
        name = canonicalize_name(stack.pop())
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.distribution(name).requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({**LAMBDA_MARKERS, "extra": ""}):
                stack.append(req.name)
    return frozenset(seen)


@cache
def _distributions_of(top_level: str) -> frozenset[str]:
    return frozenset(canonicalize_name(d) for d in metadata.packages_distributions().get(top_level, []))


def makefile_shared(service: str) -> set[str]:
    match = re.search(rf"^SHARED_{service}\s*:=(.*)$", MAKEFILE.read_text(), re.MULTILINE)
    assert match, f"Makefile has no SHARED_{service} list"
    return set(match.group(1).split())


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_the_build_copies_exactly_the_shared_packages_the_function_imports(service):
    assert makefile_shared(service) == set(shared_packages(service))


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_a_function_imports_no_other_functions_code(service):
    assert service_packages(service) == {service}, "the artifact holds services/<name>/ only"


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_the_requirements_cover_every_third_party_import(service):
    installed = closure(frozenset(requirements(service)))
    for site in third_party_sites(service):
        if site.top in RUNTIME_PROVIDED or site.top in LOCAL_ONLY:
            continue
        dists = _distributions_of(site.top)
        assert dists, f"{site.where}: no installed distribution provides '{site.top}'"
        assert dists & installed, f"{site.where}: imports {site.top}, which services/{service}/requirements.txt " \
                                  f"does not bring ({sorted(dists)})"


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_the_requirements_list_only_what_the_code_imports_and_never_boto3(service):
    imported = {d for site in third_party_sites(service) for d in _distributions_of(site.top)}
    listed = requirements(service)
    assert listed <= imported, f"listed but not imported by {service}'s code: {sorted(listed - imported)}"
    assert not closure(frozenset(listed)) & RUNTIME_PROVIDED, "boto3 is in the Lambda runtime: do not bundle it"


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_local_only_packages_are_imported_lazily_and_not_bundled(service):
    for site in third_party_sites(service):
        if site.top in LOCAL_ONLY:
            assert site.lazy, f"{site.where}: {site.top} at module level would fail at import in Lambda"
    bundled = closure(frozenset(requirements(service)))
    assert not {canonicalize_name(n) for n in LOCAL_ONLY} & bundled


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_every_bundled_package_is_pinned_by_the_lock(service):
    pinned = {canonicalize_name(line.split("==")[0]) for line in LOCK.read_text().splitlines() if "==" in line}
    unpinned = closure(frozenset(requirements(service))) - pinned
    assert not unpinned, f"not in requirements/dev.lock (the build's constraints): {sorted(unpinned)}"


def test_heavy_libraries_are_never_imported_at_handler_import():
    heavy = {"alpaca", "pandas", "exchange_calendars"}
    for service in cfn.SERVICES:
        eager = _eager_modules(service)
        for module in eager:
            for site in imports_of(module):
                assert not (site.top in heavy and not site.lazy and not site.type_only), \
                    f"{site.where}: {site.top} is imported when {service}'s handler module is imported"


def _eager_modules(service: str) -> set[str]:
    seen: set[str] = set()
    stack = [f"services.{service}.handler"]
    while stack:
        module = stack.pop()
        if module in seen or module not in reachable(service):
            continue
        seen.add(module)
        for site in imports_of(module):
            if not site.lazy and not site.type_only:
                parts = site.module.split(".")
                stack += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return seen


def test_every_function_is_built_by_a_makefile_target_from_the_project_root():
    targets = set(re.findall(r"^(build-\w+):", MAKEFILE.read_text(), re.MULTILINE))
    for lid, res in cfn.resources("AWS::Serverless::Function").items():
        assert res["Metadata"] == {"BuildMethod": "makefile"}, lid
        assert res["Properties"]["CodeUri"] == "..", lid
        assert f"build-{lid}" in targets, lid


def test_the_third_party_packages_are_one_layer_every_function_uses():
    (lid, layer), = cfn.resources("AWS::Serverless::LayerVersion").items()
    assert layer["Metadata"]["BuildMethod"] == "makefile" and layer["Properties"]["ContentUri"] == ".."
    assert layer["Properties"]["CompatibleRuntimes"] == [cfn.raw()["Globals"]["Function"]["Runtime"]]
    assert f"build-{lid}:" in MAKEFILE.read_text()
    assert cfn.raw()["Globals"]["Function"]["Layers"] == [{"Ref": lid}]
    for fn, res in cfn.resources("AWS::Serverless::Function").items():
        assert "Layers" not in res["Properties"], f"{fn}: its own Layers would replace the global layer"
    recipe = MAKEFILE.read_text().split(f"build-{lid}:", 1)[1].split("\n\n", 1)[0]
    assert "services/*/requirements.txt" in recipe and '--target "$(ARTIFACTS_DIR)/python"' in recipe
    # the optional tracer's packages (shared/runtime/tracing.py) ship too, without a second botocore
    tracer = next(line for line in recipe.replace("\\\n", " ").splitlines() if "$(TRACER_PACKAGES)" in line)
    assert "--no-deps" in tracer and "-c requirements/dev.lock" in tracer
    packages = MAKEFILE.read_text().split("TRACER_PACKAGES :=", 1)[1].split("\n", 1)[0].split()
    assert set(packages) == {"aws-xray-sdk", "wrapt"}
    functions = MAKEFILE.read_text().split("define lambda_artifact", 1)[1].split("endef", 1)[0]
    assert "pip install" not in functions  # the functions carry our code only


def test_samconfig_has_dev_and_prod_that_deploy_paper_by_default():
    config = tomllib.loads((PROJECT_ROOT / "infra" / "samconfig.toml").read_text())
    params = set(cfn.raw()["Parameters"])
    assert config["default"]["build"]["parameters"]["build_in_source"] is True
    for stage in ("dev", "prod"):
        deploy = config[stage]["deploy"]["parameters"]
        assert deploy["stack_name"] == f"alchemiser-{stage}"
        assert deploy["resolve_s3"] is True
        assert "CAPABILITY_IAM" in deploy["capabilities"]
        overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"].split())
        assert set(overrides) <= params
        assert overrides["Stage"] == stage and overrides["TradingMode"] == "paper"
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
