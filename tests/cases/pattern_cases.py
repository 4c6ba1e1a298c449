"""One table of EventBridge pattern cases, shared by the unit tests and the moto comparison.

`expected_match` is what EventBridge does, as AWS documents it. Where moto 5.2.5 does otherwise,
the case says so (`moto_differs=True`) and `aws_says` quotes the documentation, so the moto test
asserts the difference itself and fails if either side changes.

Patterns only use `source`, `detail-type`, `resources` and `detail` (the envelope fields PutEvents
lets a test set, so moto sees the same event we do) and `replay-name` (absent on both sides).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

MotoPutRule = Literal["accepted", "rejected", "crashes"]

TEST_EVENTS = Path(__file__).resolve().parents[2] / "test-events"


@dataclass(frozen=True)
class PatternCase:
    name: str
    pattern: dict[str, Any]
    event: dict[str, Any]
    expected_match: bool
    moto_differs: bool = False
    aws_says: str = ""

    def __post_init__(self) -> None:
        if self.moto_differs and not self.aws_says:
            raise ValueError(f"{self.name}: a moto difference must quote what AWS documents")


@dataclass(frozen=True)
class InvalidPattern:
    name: str
    pattern: dict[str, Any] | str
    message: str  # the start of PatternError's message: "<path>: <problem>"
    in_moto: MotoPutRule  # what moto's put_rule does with it


def envelope(detail: dict[str, Any], *, source: str = "alchemiser.test", detail_type: str = "PatternCase",
             resources: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-25T14:35:00Z",
        "region": "us-east-1",
        "resources": list(resources),
        "detail": detail,
    }


def _test_event(name: str, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((TEST_EVENTS / name).read_text())
    event.update(overrides)
    return event


def _on_detail(name: str, fields: dict[str, Any], detail: dict[str, Any], expected: bool,
               **kwargs: Any) -> PatternCase:
    return PatternCase(name, {"detail": fields}, envelope(detail), expected, **kwargs)


# ---------------------------------------------------------------- infra/template.yaml

# The four rules' EventPattern, as written in infra/template.yaml (a unit test checks they still are).
TEMPLATE_RULES: dict[str, dict[str, Any]] = {
    "SignalGeneratedRule": {"source": ["alchemiser.strategy"], "detail-type": ["SignalGenerated"]},
    "RebalancePlannedRule": {"source": ["alchemiser.portfolio"], "detail-type": ["RebalancePlanned"]},
    "TradeExecutedRule": {"source": ["alchemiser.execution"], "detail-type": ["TradeExecuted"]},
    "AllEventsToOrchestratorRule": {"source": [{"prefix": "alchemiser."}]},
    # On the default bus: Parameter Store's change events of the kill switch (its name is a !Ref,
    # read as null here) -> the notification topic.
    "KillSwitchChangedRule": {"source": ["aws.ssm"], "detail-type": ["Parameter Store Change"],
                              "detail": {"name": [None]}},
}

_WORKFLOW_FAILED, _SIGNAL = "workflow-failed.json", "signal-generated.json"
SAMPLE_ENVELOPES: dict[str, dict[str, Any]] = {
    "WorkflowStarted": _test_event("workflow-started.json"),
    "SignalGenerated": _test_event(_SIGNAL),
    "RebalancePlanned": _test_event("rebalance-planned.json"),
    "TradeExecuted": _test_event("trade-executed.json"),
    "WorkflowCompleted": _test_event("workflow-completed.json"),
    "WorkflowFailed-from-strategy": _test_event(_WORKFLOW_FAILED, source="alchemiser.strategy"),
    "WorkflowFailed-from-portfolio": _test_event(_WORKFLOW_FAILED, source="alchemiser.portfolio"),
    "WorkflowFailed-from-execution": _test_event(_WORKFLOW_FAILED, source="alchemiser.execution"),
    "WorkflowFailed-from-orchestration": _test_event(_WORKFLOW_FAILED, source="alchemiser.orchestration"),
    "ErrorNotificationRequested": _test_event("error-notification-requested.json"),
    # Envelopes no rule may take: the Scheduler's, a right detail-type from the wrong producer,
    # and sources that only look like ours (the prefix is case-sensitive and ends with a dot).
    "Scheduler-trade-command": _test_event("eventbridge-scheduler-trade.json"),
    "SignalGenerated-from-portfolio": _test_event(_SIGNAL, source="alchemiser.portfolio"),
    "SignalGenerated-from-alchemiser-strategy": _test_event(_SIGNAL, source="alchemiser-strategy"),
    "SignalGenerated-from-ALCHEMISER": _test_event(_SIGNAL, source="ALCHEMISER.strategy"),
}

# Which samples each rule takes; every other (rule, sample) pair must not match.
TEMPLATE_ROUTES: dict[str, frozenset[str]] = {
    "SignalGeneratedRule": frozenset({"SignalGenerated"}),
    "RebalancePlannedRule": frozenset({"RebalancePlanned"}),
    "TradeExecutedRule": frozenset({"TradeExecuted"}),
    "AllEventsToOrchestratorRule": frozenset({
        "WorkflowStarted", "SignalGenerated", "RebalancePlanned", "TradeExecuted", "WorkflowCompleted",
        "WorkflowFailed-from-strategy", "WorkflowFailed-from-portfolio", "WorkflowFailed-from-execution",
        "WorkflowFailed-from-orchestration", "ErrorNotificationRequested", "SignalGenerated-from-portfolio",
    }),
    "KillSwitchChangedRule": frozenset(),
}

TEMPLATE_CASES = [
    PatternCase(f"template-{rule}-vs-{sample}", pattern, copy.deepcopy(event),
                sample in TEMPLATE_ROUTES[rule])
    for rule, pattern in TEMPLATE_RULES.items()
    for sample, event in SAMPLE_ENVELOPES.items()
]


# ---------------------------------------------------------------- AWS's words, for moto differences

_JSON_RULES = (
    'EventBridge guide, "Creating event patterns": "The values that event patterns match follow JSON rules. '
    'You can include strings enclosed in quotation marks (\\"), numbers, and the keywords true, false, and '
    'null." true is a keyword, not the number 1; moto compares with Python ==, where True == 1.')
_NUMERIC_JSON = (
    'EventBridge guide, content filtering: "Numeric matching works with values that are JSON numbers." '
    "true is not a JSON number; moto tests isinstance(val, (int, float)), which a Python bool passes.")
_ANYTHING_BUT = (
    'EventBridge guide, content filtering: "Anything-but matching matches anything except what\'s provided '
    'in the rule." true is not the number 1; moto tests `val not in [1]`, and True in [1] in Python.')
_ARRAY_OF_OBJECTS = (
    'AWS Event Ruler README (the matching library behind EventBridge), "JSON Array Matching": "the array '
    'structure is \\"crushed out\\" of the rule pattern, and any contained objects are treated as if they '
    'are the value of the parent field." moto flattens only nested objects, so it never looks inside arrays.')
_CIDR = (
    'EventBridge guide, content filtering: "You can use IP address matching for IPv4 and IPv6 addresses." '
    "A number is not an IP address; moto calls ipaddress.ip_address(5), which is 0.0.0.5.")
_WILDCARD = (
    'AWS Compute Blog, "Filtering events in Amazon EventBridge with wildcard pattern matching": "Wildcard '
    'filters use the wildcard character (*) to match zero, single, or multiple characters in a string '
    'value." A newline is a character; moto\'s regex uses "." without DOTALL.')


# ---------------------------------------------------------------- operators

EXACT_CASES = [
    _on_detail("exact-string-matches", {"state": ["running"]}, {"state": "running"}, True),
    _on_detail("exact-string-is-case-sensitive", {"state": ["running"]}, {"state": "Running"}, False),
    _on_detail("exact-any-of-several-values", {"state": ["stopped", "running"]}, {"state": "running"}, True),
    _on_detail("exact-empty-string-matches-empty-string", {"name": [""]}, {"name": ""}, True),
    _on_detail("exact-empty-string-does-not-match-null", {"name": [""]}, {"name": None}, False),
    _on_detail("exact-null-matches-null", {"name": [None]}, {"name": None}, True),
    _on_detail("exact-null-does-not-match-absent-field", {"name": [None]}, {"other": 1}, False),
    _on_detail("exact-null-does-not-match-empty-string", {"name": [None]}, {"name": ""}, False),
    _on_detail("exact-absent-field-does-not-match", {"state": ["running"]}, {"status": "running"}, False),
    _on_detail("exact-number-matches-equal-number", {"count": [5]}, {"count": 5}, True),
    # The brief asks for numeric equality; see the report: the EventBridge guide says otherwise.
    _on_detail("exact-integer-matches-equal-float", {"count": [1]}, {"count": 1.0}, True),
    _on_detail("exact-number-does-not-match-numeric-string", {"count": [5]}, {"count": "5"}, False),
    _on_detail("exact-string-does-not-match-number", {"count": ["5"]}, {"count": 5}, False),
    _on_detail("exact-true-matches-true", {"flag": [True]}, {"flag": True}, True),
    _on_detail("exact-true-does-not-match-string-true", {"flag": [True]}, {"flag": "true"}, False),
    _on_detail("exact-false-does-not-match-zero", {"flag": [False]}, {"flag": 0}, False, moto_differs=True,
               aws_says=_JSON_RULES),
    _on_detail("exact-one-does-not-match-true", {"flag": [1]}, {"flag": True}, False, moto_differs=True,
               aws_says=_JSON_RULES),
    _on_detail("exact-true-does-not-match-one", {"flag": [True]}, {"flag": 1}, False, moto_differs=True,
               aws_says=_JSON_RULES),
    _on_detail("exact-leaf-value-does-not-match-an-object", {"state": ["running"]},
               {"state": {"name": "running"}}, False),
    _on_detail("nested-objects-are-descended", {"account": {"status": ["ACTIVE"]}},
               {"account": {"status": "ACTIVE", "cash": "10.00"}}, True),
    _on_detail("all-fields-must-match", {"state": ["running"], "mode": ["paper"]},
               {"state": "running", "mode": "live"}, False),
    _on_detail("dotted-pattern-key-equals-nested-path", {"account.status": ["ACTIVE"]},
               {"account": {"status": "ACTIVE"}}, True),
    _on_detail("nested-pattern-matches-dotted-event-key", {"account": {"status": ["ACTIVE"]}},
               {"account.status": "ACTIVE"}, True),
]

ARRAY_CASES = [
    PatternCase("array-event-matches-if-any-element-matches", {"resources": ["arn:aws:s3:::b"]},
                envelope({}, resources=("arn:aws:s3:::a", "arn:aws:s3:::b")), True),
    PatternCase("array-event-without-common-element-does-not-match", {"resources": ["arn:aws:s3:::c"]},
                envelope({}, resources=("arn:aws:s3:::a", "arn:aws:s3:::b")), False),
    PatternCase("array-empty-event-array-does-not-match", {"resources": ["arn:aws:s3:::a"]},
                envelope({}), False),
    PatternCase("array-prefix-matches-any-element", {"resources": [{"prefix": "arn:aws:sqs:"}]},
                envelope({}, resources=("arn:aws:s3:::a", "arn:aws:sqs:us-east-1:1:q")), True),
    _on_detail("array-numeric-matches-any-element", {"fills": [{"numeric": [">", 100]}]},
               {"fills": [1, 50, 101]}, True),
    _on_detail("array-of-objects-matches-a-field-of-an-element", {"orders": {"symbol": ["SPY"]}},
               {"orders": [{"symbol": "QQQ"}, {"symbol": "SPY"}]}, True, moto_differs=True,
               aws_says=_ARRAY_OF_OBJECTS),
    _on_detail("array-of-objects-needs-both-fields-in-one-element",
               {"orders": {"symbol": ["SPY"], "side": ["sell"]}},
               {"orders": [{"symbol": "SPY", "side": "buy"}, {"symbol": "QQQ", "side": "sell"}]}, False),
    PatternCase("array-of-objects-trade-executed-has-a-filled-tqqq-order",
                {"detail": {"orders": {"symbol": ["TQQQ"], "status": ["filled"]}}},
                SAMPLE_ENVELOPES["TradeExecuted"], True, moto_differs=True, aws_says=_ARRAY_OF_OBJECTS),
    PatternCase("array-of-objects-trade-executed-has-no-failed-order",
                {"detail": {"orders": {"status": ["failed"]}}}, SAMPLE_ENVELOPES["TradeExecuted"], False),
]

STRING_OPERATOR_CASES = [
    _on_detail("prefix-matches-start", {"region": [{"prefix": "us-"}]}, {"region": "us-east-1"}, True),
    _on_detail("prefix-rejects-other-start", {"region": [{"prefix": "us-"}]}, {"region": "eu-west-1"}, False),
    _on_detail("prefix-is-case-sensitive", {"region": [{"prefix": "us-"}]}, {"region": "US-EAST-1"}, False),
    _on_detail("prefix-never-matches-a-number", {"code": [{"prefix": "1"}]}, {"code": 123}, False),
    _on_detail("prefix-equals-ignore-case-matches",
               {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]},
               {"service": "eventbridge"}, True),
    _on_detail("prefix-equals-ignore-case-rejects",
               {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]},
               {"service": "lambda"}, False),
    _on_detail("suffix-matches-end", {"file": [{"suffix": ".png"}]}, {"file": "a/b.png"}, True),
    _on_detail("suffix-rejects-other-end", {"file": [{"suffix": ".png"}]}, {"file": "a/b.jpg"}, False),
    _on_detail("suffix-equals-ignore-case-matches", {"file": [{"suffix": {"equals-ignore-case": ".png"}}]},
               {"file": "B.PNG"}, True),
    _on_detail("suffix-equals-ignore-case-rejects", {"file": [{"suffix": {"equals-ignore-case": ".png"}}]},
               {"file": "B.JPG"}, False),
    _on_detail("equals-ignore-case-matches", {"name": [{"equals-ignore-case": "alice"}]}, {"name": "ALICE"},
               True),
    _on_detail("equals-ignore-case-rejects-other", {"name": [{"equals-ignore-case": "alice"}]},
               {"name": "alicia"}, False),
    _on_detail("equals-ignore-case-never-matches-a-number", {"n": [{"equals-ignore-case": "1"}]}, {"n": 1},
               False),
    _on_detail("wildcard-matches-middle", {"path": [{"wildcard": "dir/*.png"}]}, {"path": "dir/a.png"}, True),
    _on_detail("wildcard-star-matches-empty-run", {"path": [{"wildcard": "dir/*.png"}]},
               {"path": "dir/.png"}, True),
    _on_detail("wildcard-rejects-non-matching", {"path": [{"wildcard": "dir/*.png"}]},
               {"path": "dir/a.jpg"}, False),
    _on_detail("wildcard-several-stars", {"path": [{"wildcard": "*/lib/*"}]}, {"path": "usr/lib/x"}, True),
    _on_detail("wildcard-escaped-star-is-literal", {"s": [{"wildcard": "a\\*b"}]}, {"s": "a*b"}, True),
    _on_detail("wildcard-escaped-star-is-not-a-wildcard", {"s": [{"wildcard": "a\\*b"}]}, {"s": "axb"},
               False),
    _on_detail("wildcard-without-star-is-exact", {"s": [{"wildcard": "abc"}]}, {"s": "abcd"}, False),
    _on_detail("wildcard-never-matches-a-number", {"n": [{"wildcard": "*"}]}, {"n": 5}, False),
    _on_detail("wildcard-star-spans-a-newline", {"s": [{"wildcard": "a*b"}]}, {"s": "a\nb"}, True,
               moto_differs=True, aws_says=_WILDCARD),
]

ANYTHING_BUT_CASES = [
    _on_detail("anything-but-string-accepts-other", {"state": [{"anything-but": "init"}]}, {"state": "run"},
               True),
    _on_detail("anything-but-string-rejects-it", {"state": [{"anything-but": "init"}]}, {"state": "init"},
               False),
    _on_detail("anything-but-needs-the-field", {"state": [{"anything-but": "init"}]}, {"other": "x"}, False),
    _on_detail("anything-but-string-accepts-a-number", {"state": [{"anything-but": "init"}]}, {"state": 5},
               True),
    _on_detail("anything-but-string-accepts-null", {"state": [{"anything-but": "init"}]}, {"state": None},
               True),
    _on_detail("anything-but-number-rejects-it", {"limit": [{"anything-but": 123}]}, {"limit": 123}, False),
    _on_detail("anything-but-number-rejects-equal-float", {"limit": [{"anything-but": 123}]},
               {"limit": 123.0},
               False),
    _on_detail("anything-but-number-accepts-other", {"limit": [{"anything-but": 123}]}, {"limit": 124}, True),
    _on_detail("anything-but-string-list-rejects-member",
               {"state": [{"anything-but": ["stopped", "overloaded"]}]},
               {"state": "overloaded"}, False),
    _on_detail("anything-but-string-list-accepts-other",
               {"state": [{"anything-but": ["stopped", "overloaded"]}]},
               {"state": "running"}, True),
    _on_detail("anything-but-number-list-rejects-member", {"limit": [{"anything-but": [100, 200]}]},
               {"limit": 200}, False),
    _on_detail("anything-but-number-accepts-true", {"flag": [{"anything-but": 1}]}, {"flag": True}, True,
               moto_differs=True, aws_says=_ANYTHING_BUT),
    _on_detail("anything-but-number-list-accepts-true", {"flag": [{"anything-but": [1, 2]}]}, {"flag": True},
               True, moto_differs=True, aws_says=_ANYTHING_BUT),
    _on_detail("anything-but-on-array-accepts-if-any-element-differs", {"tags": [{"anything-but": "a"}]},
               {"tags": ["a", "b"]}, True),
    _on_detail("anything-but-on-array-rejects-if-all-elements-excluded",
               {"tags": [{"anything-but": ["a", "b"]}]},
               {"tags": ["a", "b"]}, False),
    _on_detail("anything-but-prefix-accepts-other", {"region": [{"anything-but": {"prefix": "us-"}}]},
               {"region": "eu-west-1"}, True),
    _on_detail("anything-but-prefix-rejects-prefixed", {"region": [{"anything-but": {"prefix": "us-"}}]},
               {"region": "us-east-1"}, False),
    _on_detail("anything-but-prefix-accepts-a-number", {"region": [{"anything-but": {"prefix": "us-"}}]},
               {"region": 1}, True),
    _on_detail("anything-but-suffix-accepts-other", {"file": [{"anything-but": {"suffix": ".png"}}]},
               {"file": "a.jpg"}, True),
    _on_detail("anything-but-suffix-rejects-suffixed", {"file": [{"anything-but": {"suffix": ".png"}}]},
               {"file": "a.png"}, False),
    _on_detail("anything-but-equals-ignore-case-rejects-any-casing",
               {"state": [{"anything-but": {"equals-ignore-case": "init"}}]}, {"state": "INIT"}, False),
    _on_detail("anything-but-equals-ignore-case-accepts-other",
               {"state": [{"anything-but": {"equals-ignore-case": "init"}}]}, {"state": "run"}, True),
    _on_detail("anything-but-equals-ignore-case-list-rejects-member",
               {"state": [{"anything-but": {"equals-ignore-case": ["init", "stop"]}}]},
               {"state": "Stop"}, False),
    _on_detail("anything-but-wildcard-rejects-match", {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]},
               {"path": "usr/lib/x"}, False),
    _on_detail("anything-but-wildcard-accepts-other", {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]},
               {"path": "usr/bin/x"}, True),
    _on_detail("anything-but-wildcard-list-rejects-any-match",
               {"path": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]},
               {"path": "usr/bin/x"}, False),
]

NUMERIC_CASES = [
    _on_detail("numeric-range-accepts-inside", {"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": 5}, True),
    _on_detail("numeric-range-rejects-open-bound", {"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": 0}, False),
    _on_detail("numeric-range-rejects-above", {"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": 5.000001},
               False),
    _on_detail("numeric-less-than", {"d": [{"numeric": ["<", 10]}]}, {"d": -3.5}, True),
    _on_detail("numeric-greater-or-equal-accepts-bound", {"d": [{"numeric": [">=", 10]}]}, {"d": 10}, True),
    _on_detail("numeric-equals-across-notations", {"x": [{"numeric": ["=", 3.018e2]}]}, {"x": 301.8}, True),
    _on_detail("numeric-equals-rejects-other", {"x": [{"numeric": ["=", 3.018e2]}]}, {"x": 301.9}, False),
    _on_detail("numeric-never-matches-a-numeric-string", {"x": [{"numeric": [">", 0]}]}, {"x": "5"}, False),
    _on_detail("numeric-never-matches-true", {"x": [{"numeric": [">", 0]}]}, {"x": True}, False,
               moto_differs=True, aws_says=_NUMERIC_JSON),
    _on_detail("numeric-or-exact-in-one-leaf", {"x": [{"numeric": [">", 100]}, 7]}, {"x": 7}, True),
    PatternCase("numeric-trade-executed-no-failed-orders",
                {"detail": {"totals": {"orders_failed": [{"numeric": [">", 0]}]}}},
                SAMPLE_ENVELOPES["TradeExecuted"], False),
    PatternCase("numeric-trade-executed-filled-orders",
                {"detail": {"totals": {"orders_filled": [{"numeric": [">=", 3]}]}}},
                SAMPLE_ENVELOPES["TradeExecuted"], True),
    # Money travels as strings, so a numeric filter on it never matches: worth knowing before writing one.
    PatternCase("numeric-never-matches-money-strings",
                {"detail": {"totals": {"buy_value": [{"numeric": [">", 0]}]}}},
                SAMPLE_ENVELOPES["TradeExecuted"], False),
]

EXISTS_CASES = [
    _on_detail("exists-true-accepts-present", {"c": [{"exists": True}]}, {"c": 1}, True),
    _on_detail("exists-true-rejects-absent", {"c": [{"exists": True}]}, {"d": 1}, False),
    _on_detail("exists-true-accepts-null-value", {"c": [{"exists": True}]}, {"c": None}, True),
    _on_detail("exists-false-accepts-absent", {"c": [{"exists": False}]}, {"d": 1}, True),
    _on_detail("exists-false-rejects-present", {"c": [{"exists": False}]}, {"c": 1}, False),
    _on_detail("exists-false-accepts-an-object-value", {"c": [{"exists": False}]}, {"c": {"c1": 100}}, True),
    _on_detail("exists-true-rejects-an-object-value", {"c": [{"exists": True}]}, {"c": {"c1": 100}}, False),
    _on_detail("exists-true-accepts-a-non-empty-array", {"c": [{"exists": True}]}, {"c": ["a"]}, True),
    _on_detail("exists-false-or-value", {"c": [{"exists": False}, "x"]}, {"c": "x"}, True),
    PatternCase("exists-false-top-level-replay-name", {"replay-name": [{"exists": False}]}, envelope({}),
                True),
]

CIDR_CASES = [
    _on_detail("cidr-ipv4-inside", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.255"}, True),
    _on_detail("cidr-ipv4-outside", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.0"}, False),
    _on_detail("cidr-ipv6-inside", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8:1::1"}, True),
    _on_detail("cidr-ipv6-outside", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db9::1"}, False),
    _on_detail("cidr-ipv4-address-not-in-ipv6-network", {"ip": [{"cidr": "::/0"}]}, {"ip": "10.0.0.1"},
               False),
    _on_detail("cidr-rejects-a-non-address-string", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "ten"}, False),
    _on_detail("cidr-never-matches-a-number", {"ip": [{"cidr": "0.0.0.0/8"}]}, {"ip": 5}, False,
               moto_differs=True, aws_says=_CIDR),
]

OR_CASES = [
    PatternCase("or-top-level-first-alternative",
                {"$or": [{"source": ["alchemiser.strategy"]}, {"detail-type": ["TradeExecuted"]}]},
                envelope({}, source="alchemiser.strategy"), True),
    PatternCase("or-top-level-second-alternative",
                {"$or": [{"source": ["alchemiser.strategy"]}, {"detail-type": ["TradeExecuted"]}]},
                envelope({}, detail_type="TradeExecuted"), True),
    PatternCase("or-top-level-neither-alternative",
                {"$or": [{"source": ["alchemiser.strategy"]}, {"detail-type": ["TradeExecuted"]}]},
                envelope({}), False),
    PatternCase("or-and-outside-fields-must-both-hold",
                {"source": ["alchemiser.execution"], "$or": [{"detail": {"success": [False]}},
                                                            {"detail": {"status": ["partial"]}}]},
                envelope({"success": True, "status": "partial"}, source="alchemiser.test"), False),
    _on_detail("or-inside-detail", {"$or": [{"c": [{"numeric": [">", 5]}]}, {"d": ["x"]}]},
               {"c": 1, "d": "x"}, True),
    _on_detail("or-alternative-with-several-fields-needs-all",
               {"$or": [{"a": ["1"], "b": ["2"]}, {"c": ["3"]}]}, {"a": "1", "b": "x"}, False),
    _on_detail("or-nested-in-or",
               {"$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}]},
               {"b": "2", "d": "4"}, True),
    _on_detail("or-with-exists-false-alternative",
               {"$or": [{"error": [{"exists": False}]}, {"error": [None]}]},
               {"error": None}, True),
]

PATTERN_CASES: list[PatternCase] = [
    *TEMPLATE_CASES, *EXACT_CASES, *ARRAY_CASES, *STRING_OPERATOR_CASES, *ANYTHING_BUT_CASES, *NUMERIC_CASES,
    *EXISTS_CASES, *CIDR_CASES, *OR_CASES,
]

assert len({c.name for c in PATTERN_CASES}) == len(PATTERN_CASES), "case names must be unique"


# ---------------------------------------------------------------- invalid patterns

INVALID_PATTERNS = [
    InvalidPattern("unknown-operator", {"detail": {"price": [{"greater-than": 5}]}},
                   "detail.price: unknown operator 'greater-than'", in_moto="accepted"),
    InvalidPattern("leaf-not-an-array", {"source": "alchemiser.strategy"},
                   "source: must be an object or an array",
                   in_moto="rejected"),
    InvalidPattern("empty-array", {"detail": {"state": []}}, "detail.state: empty arrays",
                   in_moto="rejected"),
    InvalidPattern("empty-pattern", {}, "(pattern): empty objects", in_moto="accepted"),
    InvalidPattern("empty-nested-object", {"detail": {}}, "detail: empty objects", in_moto="accepted"),
    InvalidPattern("invalid-json-text", '{"source": [', "(pattern): invalid JSON", in_moto="rejected"),
    InvalidPattern("json-text-not-an-object", '["a"]', "(pattern): must be a JSON object",
                   in_moto="crashes"),
    InvalidPattern("nested-array-value", {"source": [["a"]]}, "source: match values must be",
                   in_moto="accepted"),
    InvalidPattern("two-operators-in-one-object", {"source": [{"prefix": "a", "suffix": "b"}]},
                   "source: an operator object needs exactly one operator", in_moto="accepted"),
    InvalidPattern("empty-operator-object", {"source": [{}]}, "source: an operator object needs exactly one",
                   in_moto="accepted"),
    InvalidPattern("prefix-not-a-string", {"source": [{"prefix": 5}]}, "source: prefix: must be a string",
                   in_moto="accepted"),
    InvalidPattern("prefix-unknown-modifier", {"source": [{"prefix": {"wildcard": "a*"}}]},
                   "source: prefix: unsupported modifier 'wildcard'", in_moto="accepted"),
    InvalidPattern("suffix-list", {"source": [{"suffix": [".png"]}]}, "source: suffix: must be a string",
                   in_moto="accepted"),
    InvalidPattern("equals-ignore-case-number", {"n": [{"equals-ignore-case": 5}]},
                   "n: equals-ignore-case: must be a string", in_moto="accepted"),
    InvalidPattern("wildcard-consecutive-stars", {"p": [{"wildcard": "a**b"}]},
                   "p: wildcard: consecutive '*'", in_moto="accepted"),
    InvalidPattern("wildcard-bad-escape", {"p": [{"wildcard": "a\\b"}]},
                   "p: wildcard: a backslash may only escape",
                   in_moto="accepted"),
    InvalidPattern("anything-but-null", {"s": [{"anything-but": None}]}, "s: anything-but: must be",
                   in_moto="accepted"),
    InvalidPattern("anything-but-mixed-list", {"s": [{"anything-but": ["a", 1]}]},
                   "s: anything-but: must be a string, a number, or a list", in_moto="accepted"),
    InvalidPattern("anything-but-empty-list", {"s": [{"anything-but": []}]}, "s: anything-but: empty arrays",
                   in_moto="accepted"),
    InvalidPattern("anything-but-empty-prefix", {"s": [{"anything-but": {"prefix": ""}}]},
                   "s: anything-but: prefix: must not be empty", in_moto="accepted"),
    InvalidPattern("anything-but-exists", {"s": [{"anything-but": {"exists": True}}]},
                   "s: anything-but: unsupported anything-but operator 'exists'", in_moto="accepted"),
    InvalidPattern("numeric-unknown-comparison", {"n": [{"numeric": ["!=", 1]}]},
                   'n: numeric: unknown comparison "!="', in_moto="accepted"),
    InvalidPattern("numeric-not-a-list", {"n": [{"numeric": 5}]}, "n: numeric: must be", in_moto="accepted"),
    InvalidPattern("numeric-string-bound", {"n": [{"numeric": [">", "5"]}]},
                   "n: numeric: the value after '>' must be a number", in_moto="accepted"),
    InvalidPattern("numeric-bounds-reversed", {"n": [{"numeric": ["<", 5, ">", 0]}]},
                   "n: numeric: a range is a lower bound", in_moto="accepted"),
    InvalidPattern("numeric-empty-range", {"n": [{"numeric": [">", 5, "<", 1]}]}, "n: numeric: empty range",
                   in_moto="accepted"),
    InvalidPattern("numeric-too-many-terms", {"n": [{"numeric": [">", 0, "<", 5, "=", 3]}]},
                   "n: numeric: must be", in_moto="accepted"),
    InvalidPattern("exists-not-a-boolean", {"n": [{"exists": "yes"}]}, "n: exists must be true or false",
                   in_moto="accepted"),
    InvalidPattern("cidr-without-prefix-length", {"ip": [{"cidr": "10.0.0.1"}]},
                   "ip: cidr: '10.0.0.1' is not a",
                   in_moto="accepted"),
    InvalidPattern("cidr-host-bits-set", {"ip": [{"cidr": "10.0.0.1/24"}]},
                   "ip: cidr: '10.0.0.1/24' is not a",
                   in_moto="accepted"),
    InvalidPattern("cidr-garbage", {"ip": [{"cidr": "ten/8"}]}, "ip: cidr: 'ten/8' is not a",
                   in_moto="accepted"),
    InvalidPattern("or-not-a-list", {"$or": {"source": ["a"]}}, "$or: must be an array of objects",
                   in_moto="accepted"),
    InvalidPattern("or-single-alternative", {"$or": [{"source": ["a"]}]},
                   "$or: needs at least 2 alternatives",
                   in_moto="accepted"),
    InvalidPattern("or-alternative-not-an-object", {"$or": [{"source": ["a"]}, ["b"]]},
                   "$or[1]: must be an object", in_moto="accepted"),
    InvalidPattern("or-operator-name-as-field", {"$or": [{"prefix": ["a"]}, {"source": ["b"]}]},
                   "$or[0].prefix: 'prefix' is an operator", in_moto="accepted"),
    InvalidPattern("or-error-names-nested-path", {"detail": {"$or": [{"a": ["1"]}, {"b": [{"nope": 1}]}]}},
                   "detail.$or[1].b: unknown operator 'nope'", in_moto="accepted"),
]
