"""What a finished build action reports beyond its artifacts: issues and test results.

Derived on demand from the action's id and issue counts, so they cost nothing until asked
for and are the same on every request.
"""

from __future__ import annotations

import random

from .records import SimAction, SimIssue, SimTestResult, random_uuid

ISSUE_TYPES = ("ANALYZER_WARNING", "ERROR", "TEST_FAILURE", "WARNING")  # issueCounts' order
ISSUE_MESSAGES = {
    "ANALYZER_WARNING": "Potential leak of an object stored into 'session'",
    "ERROR": "Command CompileSwift failed with a nonzero exit code",
    "TEST_FAILURE": 'XCTAssertEqual failed: ("2") is not equal to ("3")',
    "WARNING": "'init()' is deprecated: use init(configuration:)",
}
SOURCE_FILES = ["App/Sources/AppDelegate.swift", "App/Sources/Sync/Session.swift"]
TEST_CLASSES = ["LaunchTests", "SettingsTests", "SyncTests"]


def issues(action: SimAction) -> list[SimIssue]:
    rng = random.Random(f"issues/{action.id}")
    found = []
    for issue_type, count in zip(ISSUE_TYPES, action.issues, strict=True):
        for _ in range(count):
            found.append(
                SimIssue(
                    id=random_uuid(rng),
                    action=action,
                    issue_type=issue_type,
                    message=ISSUE_MESSAGES[issue_type],
                    path=rng.choice(SOURCE_FILES),
                    line=rng.randrange(1, 400),
                )
            )
    return found


def test_results(action: SimAction) -> list[SimTestResult]:
    if action.action_type != "TEST":
        return []
    rng = random.Random(f"tests/{action.id}")
    failures = action.issues[2]
    results = []
    for position in range(8 + failures):
        failed = position < failures
        results.append(
            SimTestResult(
                id=random_uuid(rng),
                action=action,
                class_name=TEST_CLASSES[position % len(TEST_CLASSES)],
                name=f"test{position:02d}()",
                status="FAILURE" if failed else "SUCCESS",
                message=ISSUE_MESSAGES["TEST_FAILURE"] if failed else "",
                duration=round(rng.uniform(0.01, 4.0), 3),
            )
        )
    return results
