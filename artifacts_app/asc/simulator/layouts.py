"""What the simulator's archives hold: `.xcarchive` and export layouts that evolve over time.

A product's app gains a framework when its first size step lands (the step the dataset's
growth curve takes), an extension appears with the second, and its asset catalog grows
steadily, so two runs of a workflow show a meaningful component diff. Exports hold the
`.ipa` stored (a zip inside the zip) and, for the development export, an App Thinning Size
Report. Everything derives from the artifact: the same artifact is the same file every time.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache

from .dataset import Dataset
from .downloads import ArtifactBody, pattern_body
from .records import SimArtifact
from .zips import Body, Entry, build_zip

ZIP_TYPES = ("ARCHIVE", "ARCHIVE_EXPORT", "STAPLED_NOTARIZED_ARCHIVE")

# Entry names a careless reader would turn into paths outside its folder.
HOSTILE_ENTRIES = [
    "../../../etc/passwd",
    "/etc/shadow",
    "nul\x00byte.txt",
    "Ünïcødé 🚀 ビルド.txt",
    "deep/" + "x" * 400,
]


def artifact_body(dataset: Dataset, artifact: SimArtifact) -> Body | None:
    """The zip a zip-type artifact downloads as, or None (not a zip type, or too small)."""
    if artifact.file_type not in ZIP_TYPES:
        return None
    return _body(dataset, artifact.id)


@lru_cache(maxsize=256)
def _body(dataset: Dataset, artifact_id: str) -> Body | None:
    artifact = dataset.artifacts[artifact_id]
    run = artifact.action.run
    app = run.product.name if not dataset.hostile_names else "App"
    stage = dataset.stage(run.created)
    moment = datetime.fromtimestamp(run.created, UTC)
    date_time = (moment.year, moment.month, moment.day, moment.hour, moment.minute, 0)
    features = _features(run.product.index, run.product.product_type, stage)
    if artifact.file_type == "ARCHIVE_EXPORT":
        thinning = artifact.file_name.startswith("development")
        entries = _export(app, features, thinning, artifact.file_size, seed=artifact.id)
    else:
        entries = _xcarchive(f"{app} {run.number}.xcarchive", app, features)
    if dataset.hostile_names:
        entries = [
            *entries[:2],
            *(Entry(n, text=b"hostile") for n in HOSTILE_ENTRIES),
            *entries[2:],
        ]
    return build_zip(entries, artifact.file_size, seed=artifact.id, date_time=date_time)


def _features(product_index: int, product_type: str, stage: float) -> dict:
    """Which parts an app has at `stage` (0 at the start of the history, 1 at its end)."""
    return {
        "framework_product": product_type == "FRAMEWORK",
        "analytics": stage >= 0.35 + 0.05 * product_index,
        "widgets": stage >= 0.75,
        "watch": product_index in (0, 3),
        "clip": product_index == 1,
        "assets_growth": 1 + 1.5 * max(0.0, stage),
    }


def _app_entries(prefix: str, app: str, features: dict, swift_support: bool) -> list[Entry]:
    """The files of `<app>.app` under `prefix`, most important first (small files drop last)."""
    frameworks = ["Alamofire", "RealmSwift", "Lottie"]
    if features["analytics"]:
        frameworks.insert(1, "Analytics")
    weights = {"Alamofire": 0.05, "RealmSwift": 0.08, "Lottie": 0.04, "Analytics": 0.14}
    entries = [
        Entry(f"{prefix}{app}", 0.16),
        Entry(f"{prefix}Assets.car", 0.06 * features["assets_growth"]),
        Entry(f"{prefix}Info.plist", text=_plist(app, "CFBundleExecutable")),
    ]
    entries += [Entry(f"{prefix}Frameworks/{n}.framework/{n}", weights[n]) for n in frameworks]
    entries.append(Entry(f"{prefix}PlugIns/NotificationService.appex/NotificationService", 0.03))
    if features["widgets"]:
        entries.append(Entry(f"{prefix}PlugIns/Widgets.appex/Widgets", 0.08))
    if features["watch"]:
        entries.append(Entry(f"{prefix}Watch/{app} Watch.app/{app} Watch", 0.06))
    if features["clip"]:
        entries.append(Entry(f"{prefix}AppClips/{app} Clip.app/{app} Clip", 0.05))
    for language in ("en", "de", "fr", "ja"):
        entries.append(Entry(f"{prefix}{language}.lproj/Localizable.strings", 0.004))
    entries += [
        Entry(f"{prefix}Base.lproj/Main.storyboardc/Info.plist", 0.01),
        Entry(f"{prefix}_CodeSignature/CodeResources", text=_plist(app, "files")),
        Entry(f"{prefix}embedded.mobileprovision", 0.0005),
    ]
    entries += [
        Entry(f"{prefix}Frameworks/{n}.framework/Info.plist", text=_plist(n, "CFBundleName"))
        for n in frameworks
    ]
    if swift_support:
        entries.append(Entry("SwiftSupport/iphoneos/libswift_Concurrency.dylib", 0.01))
    return entries


def _xcarchive(root: str, app: str, features: dict) -> list[Entry]:
    if features["framework_product"]:
        return [
            Entry(f"{root}/Products/Library/Frameworks/{app}.framework/{app}", 0.5),
            Entry(f"{root}/dSYMs/{app}.framework.dSYM/Contents/Resources/DWARF/{app}", 0.4),
            Entry(f"{root}/Info.plist", text=_plist(app, "ArchiveVersion")),
            Entry(f"{root}/Products/Library/Frameworks/{app}.framework/Info.plist", 0.001),
        ]
    entries = _app_entries(f"{root}/Products/Applications/{app}.app/", app, features, False)
    entries.insert(2, Entry(f"{root}/dSYMs/{app}.app.dSYM/Contents/Resources/DWARF/{app}", 0.22))
    entries += [
        Entry(f"{root}/Info.plist", text=_plist(app, "ArchiveVersion")),
        Entry(f"{root}/dSYMs/Analytics.framework.dSYM/Contents/Resources/DWARF/Analytics", 0.03)
        if features["analytics"]
        else Entry(f"{root}/SCMBlueprint/{app}.xcscmblueprint", text=_plist(app, "SCM")),
    ]
    return entries


def _export(app: str, features: dict, thinning: bool, size: int, seed: str) -> list[Entry]:
    def ipa(ipa_size: int) -> Body | None:
        files = _app_entries(f"Payload/{app}.app/", app, features, True)
        return build_zip(files, ipa_size, seed=f"{seed}/ipa")

    entries = [
        Entry(f"{app}.ipa", 1.0, nested=ipa),
        Entry("DistributionSummary.plist", text=_plist(app, "DistributionSummary")),
        Entry("ExportOptions.plist", text=_plist(app, "method")),
        Entry("Packaging.log", text=f"Packaging {app}: done\n".encode() * 20),
    ]
    if thinning:
        entries.insert(1, Entry("App Thinning Size Report.txt", text=thinning_report(app, size)))
    return entries


def thinning_report(app: str, export_size: int) -> bytes:
    """Xcode's report, with per-variant sizes derived from the export's size."""
    variants = [
        ("Universal", "Universal", 1.0),
        ("iPhone14,2", "[device: iPhone14,2, os-version: 16.0]", 0.62),
        ("iPhone10,3", "[device: iPhone10,3, os-version: 15.0] and [device: iPhone10,6]", 0.58),
    ]
    lines = [f"App Thinning Size Report for All Variants of {app}", ""]
    for name, descriptors, share in variants:
        compressed = export_size * 0.9 * share
        lines += [
            f"Variant: {app}-{name}.ipa",
            f"Supported variant descriptors: {descriptors}",
            f"App + On Demand Resources size: {_mb(compressed)} compressed, "
            f"{_mb(compressed * 2.3)} uncompressed",
            f"App size: {_mb(compressed)} compressed, {_mb(compressed * 2.3)} uncompressed",
            "On Demand Resources size: Zero KB compressed, Zero KB uncompressed",
            "",
        ]
    return "\n".join(lines).encode()


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"


def _plist(name: str, key: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
        f"<key>{key}</key><string>{name}</string>"
        "<key>CFBundleVersion</key><string>1</string></dict></plist>\n"
    ).encode()


def download_body(dataset: Dataset, artifact: SimArtifact) -> ArtifactBody:
    """What the artifact's download serves: its zip, or (other types, or too small to hold a
    zip) the downloads' usual pattern."""
    return artifact_body(dataset, artifact) or pattern_body(artifact)


def served_sha256(dataset: Dataset, artifact: SimArtifact) -> str:
    """The SHA-256 hex digest of what the simulator serves for `artifact`."""
    body = download_body(dataset, artifact)
    digest = hashlib.sha256()
    for offset in range(0, body.size, 1024 * 1024):
        digest.update(body.read(offset, 1024 * 1024))
    return digest.hexdigest()
