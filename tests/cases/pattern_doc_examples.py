"""The examples of the EventBridge user guide's "Content filtering in Amazon EventBridge event patterns"
(and its "Arrays in event patterns" and "Null values and empty strings" sections), as fixtures.

Each pattern is the guide's, written as the guide writes it (top-level fields such as `time` or
`FileName` included), against the guide's sample EC2 event or a small event the guide's prose
describes; `expected_match` is what the guide says. Our matcher must give the guide's answer
(tests/unit/local/test_patterns.py); moto's matcher, called in-process, must too, unless
the case records where moto departs from the guide (tests/integration/local/test_patterns_differential.py).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.cases.pattern_cases import PatternCase

# The guide's sample event: an EC2 instance state change.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}


def ec2(detail: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """The sample event, with its detail and top-level fields changed as an example needs."""
    event = copy.deepcopy(EC2_EVENT)
    if detail is not None:
        event["detail"] = detail
    event.update(top)
    return event


def _case(name: str, pattern: dict[str, Any], event: dict[str, Any], expected: bool, **kwargs: Any) -> PatternCase:
    return PatternCase(f"doc-{name}", pattern, event, expected, **kwargs)


_EXISTS_LEAF = ('EventBridge guide, content filtering, "Exists matching": "Exists matching only works on leaf '
                'nodes. It does not work on intermediate nodes." moto flattens an object value into its '
                'fields, but keeps an empty one as a value, so it sees {} as present.')

_NUMERIC = {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
            "x-limit": [{"numeric": ["=", 3.018e2]}]}

PREFIX = [
    _case("prefix-time", {"time": [{"prefix": "2017-10-02"}]}, ec2(time="2017-10-02T18:43:48Z"), True),
    _case("prefix-time-other-day", {"time": [{"prefix": "2017-10-02"}]}, ec2(), False),
    _case("prefix-ignore-case", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
          ec2({"service": "EVENTBRIDGE"}), True),
    _case("prefix-ignore-case-lower", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
          ec2({"service": "eventbus"}), True),
    _case("prefix-ignore-case-other", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
          ec2({"service": "lambda"}), False),
    _case("prefix-region-in-the-us", {"detail": {"Region": [{"prefix": "us-"}]}}, ec2({"Region": "us-west-1"}),
          True),
]

SUFFIX = [
    _case("suffix-png", {"FileName": [{"suffix": ".png"}]}, ec2(FileName="image.png"), True),
    _case("suffix-png-is-case-sensitive", {"FileName": [{"suffix": ".png"}]}, ec2(FileName="image.PNG"), False),
    _case("suffix-ignore-case", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
          ec2({"FileName": "IMAGE.PNG"}), True),
    _case("suffix-ignore-case-other", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
          ec2({"FileName": "image.jpg"}), False),
]

ANYTHING_BUT = [
    _case("anything-but-string", {"detail": {"state": [{"anything-but": "initializing"}]}}, ec2(), True),
    _case("anything-but-string-excluded", {"detail": {"state": [{"anything-but": "initializing"}]}},
          ec2({"state": "initializing"}), False),
    _case("anything-but-number", {"detail": {"x-limit": [{"anything-but": 123}]}}, ec2({"x-limit": 301.8}), True),
    _case("anything-but-number-excluded", {"detail": {"x-limit": [{"anything-but": 123}]}},
          ec2({"x-limit": 123}), False),
    _case("anything-but-string-list", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
          ec2(), True),
    _case("anything-but-string-list-excluded", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
          ec2({"state": "stopped"}), False),
    _case("anything-but-number-list", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
          ec2({"x-limit": 301.8}), True),
    _case("anything-but-number-list-excluded", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
          ec2({"x-limit": 200}), False),
    _case("anything-but-prefix", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, ec2(), True),
    _case("anything-but-prefix-excluded", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
          ec2({"state": "initializing"}), False),
    _case("anything-but-region-not-in-the-us", {"detail": {"Region": [{"anything-but": {"prefix": "us-"}}]}},
          ec2({"Region": "eu-west-1"}), True),
    _case("anything-but-suffix", {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}},
          ec2({"FileName": "notes.md"}), True),
    _case("anything-but-suffix-excluded", {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}},
          ec2({"FileName": "notes.txt"}), False),
    _case("anything-but-ignore-case", {"detail": {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}},
          ec2({"state": "INITIALIZING"}), False),
    _case("anything-but-ignore-case-list",
          {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}},
          ec2({"state": "overloaded"}), False),
    _case("anything-but-ignore-case-list-other",
          {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}},
          ec2(), True),
    _case("anything-but-wildcard", {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
          ec2({"FilePath": "/usr/lib/libc.so"}), False),
    _case("anything-but-wildcard-other", {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
          ec2({"FilePath": "/usr/bin/env"}), True),
    _case("anything-but-wildcard-list",
          {"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}},
          ec2({"FilePath": "/usr/bin/env"}), False),
]

NUMERIC = [
    _case("numeric", {"detail": _NUMERIC}, ec2({"c-count": 5, "d-count": 7, "x-limit": 301.8}), True),
    _case("numeric-open-lower-bound", {"detail": _NUMERIC}, ec2({"c-count": 0, "d-count": 7, "x-limit": 301.8}),
          False),
    _case("numeric-equals-another-notation", {"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}},
          ec2({"x-limit": 301.80}), True),
    _case("numeric-is-not-for-strings", {"detail": {"d-count": [{"numeric": ["<", 10]}]}},
          ec2({"d-count": "7"}), False),
]

IP_ADDRESS = [
    _case("cidr-ipv4", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
          ec2({"sourceIPAddress": "10.0.0.255"}), True),
    _case("cidr-ipv4-outside", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
          ec2({"sourceIPAddress": "10.0.1.1"}), False),
    _case("cidr-ipv6", {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}},
          ec2({"sourceIPAddress": "2001:db8::2:1"}), True),
]

EXISTS = [
    _case("exists-true", {"detail": {"state": [{"exists": True}]}}, ec2(), True),
    _case("exists-false", {"detail": {"state": [{"exists": False}]}}, ec2(), False),
    _case("exists-false-absent", {"detail": {"state": [{"exists": False}]}}, ec2({"instance-id": "i-1"}), True),
    _case("exists-false-intermediate-node", {"detail": {"c-count": [{"exists": False}]}},
          ec2({"c-count": {"c1": 100}}), True),
    _case("exists-true-intermediate-node", {"detail": {"c-count": [{"exists": True}]}},
          ec2({"c-count": {"c1": 100}}), False),
    _case("exists-true-empty-object", {"detail": {"c-count": [{"exists": True}]}}, ec2({"c-count": {}}), False,
          moto_differs=True, aws_says=_EXISTS_LEAF),
]

EQUALS_IGNORE_CASE = [
    _case("equals-ignore-case", {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
          ec2(), True),
    _case("equals-ignore-case-other", {"detail-type": [{"equals-ignore-case": "ec2 instance launch"}]}, ec2(),
          False),
]

WILDCARD = [
    _case("wildcard-event-bus-arn", {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
          ec2(EventBusArn="arn:aws:events:us-east-1:123456789012:event-bus/default"), True),
    _case("wildcard-event-bus-arn-other-region",
          {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
          ec2(EventBusArn="arn:aws:events:us-west-2:123456789012:event-bus/default"), False),
    _case("wildcard-deep-path", {"Filename": [{"wildcard": "dir/*.png"}]},
          ec2(Filename="dir/dir/dir/dir/dir/doc.png"), True),
    _case("wildcard-lib", {"detail": {"FilePath": [{"wildcard": "*/lib/*"}]}},
          ec2({"FilePath": "/usr/lib/libc.so"}), True),
    _case("wildcard-literal-star", {"detail": {"FilePath": [{"wildcard": "dir/\\*.png"}]}},
          ec2({"FilePath": "dir/doc.png"}), False),
]

OR = [
    _case("or-numeric-any-one", {"detail": {"$or": [{key: value} for key, value in _NUMERIC.items()]}},
          ec2({"c-count": 50, "d-count": 70, "x-limit": 301.8}), True),
    _case("or-numeric-none", {"detail": {"$or": [{key: value} for key, value in _NUMERIC.items()]}},
          ec2({"c-count": 50, "d-count": 70, "x-limit": 1}), False),
    _case("or-with-outside-field",
          {"source": ["aws.cloudwatch"],
           "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
          ec2(source="aws.cloudwatch", namespace="AWS/EC2"), True),
    _case("or-with-outside-field-failing",
          {"source": ["aws.cloudwatch"],
           "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
          ec2(namespace="AWS/EC2"), False),
]

_ARNS = ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
         "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
         "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]

ARRAYS_NULLS_AND_COMBINED = [
    _case("array-any-value-in-both", {"resources": _ARNS}, ec2(resources=[*_ARNS[1:2], "arn:aws:s3:::b"]), True),
    _case("array-no-value-in-both", {"resources": _ARNS[:1]}, ec2(resources=_ARNS[1:]), False),
    _case("empty-string", {"detail": {"eventVersion": [""]}}, ec2({"eventVersion": "", "responseElements": None}),
          True),
    _case("null", {"detail": {"responseElements": [None]}}, ec2({"eventVersion": "", "responseElements": None}),
          True),
    _case("null-is-not-absent", {"detail": {"responseElements": [None]}}, ec2({"eventVersion": ""}), False),
    _case("complex",
          {"time": [{"prefix": "2017-10-02"}],
           "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                      "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}]}},
          ec2({"state": "running", "c-count": 5, "d-count": 3, "x-limit": 301.8}, time="2017-10-02T18:43:48Z"),
          True),
]

DOC_EXAMPLES: list[PatternCase] = [
    *PREFIX, *SUFFIX, *ANYTHING_BUT, *NUMERIC, *IP_ADDRESS, *EXISTS, *EQUALS_IGNORE_CASE, *WILDCARD, *OR,
    *ARRAYS_NULLS_AND_COMBINED,
]

assert len({c.name for c in DOC_EXAMPLES}) == len(DOC_EXAMPLES), "example names must be unique"
