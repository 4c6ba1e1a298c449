"""The route table is internally consistent."""

from __future__ import annotations

from shared.events.catalog import FUNCTIONS, NOTIFIER, ROUTES, SOURCE_OF, SOURCE_PREFIX


def test_every_route_names_known_functions_and_its_models_detail_type():
    for detail_type, route in ROUTES.items():
        assert route.model.detail_type == detail_type
        assert set(route.producers) <= set(FUNCTIONS)
        assert set(route.consumers) <= set(FUNCTIONS)
        assert route.rules, f"{detail_type} is routed by no rule"


def test_every_source_is_under_the_alchemiser_prefix():
    assert all(source.startswith(SOURCE_PREFIX) for source in SOURCE_OF.values())


def test_every_event_reaches_the_orchestrator_through_the_all_events_rule():
    for route in ROUTES.values():
        assert "AllEventsToOrchestratorRule" in route.rules
        assert "orchestrator" in route.consumers


def test_only_the_notifier_consumes_error_notifications():
    assert ROUTES["ErrorNotificationRequested"].consumers == (NOTIFIER,)
