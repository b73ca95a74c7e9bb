"""The names and shapes a simulated account is made of: products, workflows, branches, people."""

from __future__ import annotations

from .records import SimToolVersion

MiB = 1024 * 1024
GiB = 1024 * MiB

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "Ünïcødé 🚀 ビルド",
    "=cmd|' /C calc'!A0",
    "\"quoted\" & <ampersand> 'single'",
    "back\\slash\\..\\name",
    "%2e%2e%2fencoded",
    "nul\x00byte",
    "x" * 300,
]

PRODUCT_SPECS = [
    # name, type, archive base size, workflow kinds
    ("Nimbus Weather", "APP", 620 * MiB, ["ci", "pr", "release", "nightly"]),
    ("Ledger Lite", "APP", 980 * MiB, ["ci", "release", "nightly"]),
    ("PhotoKit", "FRAMEWORK", 240 * MiB, ["ci", "release"]),
    ("Trailhead", "APP", 410 * MiB, ["ci", "pr", "release"]),
    ("Metronome", "APP", 150 * MiB, ["ci", "nightly"]),
]

WORKFLOW_SPECS = {
    # kind: (name, description, actions as (name, type), minutes of work)
    "ci": ("CI", "Build and test every push", [("Build - iOS", "BUILD"), ("Test - iOS", "TEST")]),
    "pr": (
        "Pull Request Checks",
        "Build and analyze pull requests",
        [("Build - iOS", "BUILD"), ("Analyze - iOS", "ANALYZE")],
    ),
    "release": (
        "Release",
        "Archive tagged releases for App Store Connect",
        [("Archive - iOS", "ARCHIVE"), ("Test - iOS", "TEST")],
    ),
    "nightly": (
        "Nightly",
        "Scheduled archive of main",
        [("Analyze - iOS", "ANALYZE"), ("Archive - iOS", "ARCHIVE")],
    ),
}

BRANCHES = ["main", "develop", "release/2.0", "feature/x", "feature/offline-mode"]
TAGS = ["v1.2.0", "v1.3.0", "v1.4.1", "v2.0.0", "v2.1.0"]
# What every workflow builds with (Apple's CI Xcode and macOS versions).
XCODE = SimToolVersion("a1b2c3d4-0000-4000-8000-000000001640", "Xcode 16.4", "16F6")
MACOS = SimToolVersion("a1b2c3d4-0000-4000-8000-000000001550", "macOS Sequoia 15.5", "24F74")
PULL_REQUEST_BRANCHES = ["feature/x", "feature/offline-mode", "develop"]
PULL_REQUEST_TITLES = {
    "feature/x": "Try the new layout",
    "feature/offline-mode": "Offline mode",
    "develop": "Merge develop for the next release",
}
AUTHORS = ["Ada Lovelace", "Grace Hopper", "Linus Pauling", "Katherine Johnson", "Alan Kay"]
MESSAGES = [
    "Fix crash when the network drops",
    "Add widget for the home screen",
    "Bump dependencies",
    "Refactor settings screen",
    "Improve launch time",
    "Localise onboarding",
]
