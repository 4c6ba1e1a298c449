"""The backtest and its chart and analytics libraries stay out of every Lambda bundle."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from tests.infra import cfn
from tests.infra.code_imports import reachable, third_party_sites
from tests.infra.test_build import closure, requirements

# matplotlib, plotly, rich and what they pull in, empyrical and what it pulls in (but numpy, which the strategy
# needs).
CLI_ONLY = {"matplotlib", "contourpy", "cycler", "fonttools", "kiwisolver", "pillow", "pyparsing",
            "plotly", "narwhals", "empyrical-reloaded", "scipy", "bottleneck", "peewee",
            "rich", "markdown-it-py", "mdurl", "pygments"}


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_no_bundle_installs_the_chart_or_analytics_libraries(service):
    bundled = closure(frozenset(requirements(service)))
    assert not {canonicalize_name(n) for n in CLI_ONLY} & bundled


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_no_function_reaches_the_backtest_or_imports_its_libraries(service):
    modules = reachable(service)
    assert not [m for m in modules if m.startswith("alchemiser")]
    tops = {site.top for site in third_party_sites(service)}
    assert not tops & {"matplotlib", "plotly", "narwhals", "empyrical", "scipy", "rich", "pygments", "markdown_it"}


@pytest.mark.parametrize("package", ["matplotlib", "plotly", "rich"])
def test_the_check_sees_a_cli_only_package_when_one_is_listed(package):
    assert canonicalize_name(package) in closure(frozenset({package}))
