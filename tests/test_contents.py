"""Reading what is inside a zip: components, listings of odd zips, thinning reports."""

import io
import zipfile

import pytest

from artifacts_app.asc.simulator import Dataset
from artifacts_app.asc.simulator.layouts import artifact_body, thinning_report
from artifacts_app.asc.simulator.zips import Entry as ZipEntry
from artifacts_app.asc.simulator.zips import build_zip
from artifacts_app.contents.components import Entry, component_of, summarise
from artifacts_app.contents.listing import NotAZip, read_listing
from artifacts_app.contents.thinning import parse_report

APP = "Nimbus 7.xcarchive/Products/Applications/Nimbus.app/"


def zip_bytes(files, comment=b"", compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.comment = comment
    return buffer.getvalue()


def brute_force_components(data):
    """Components from zipfile's listing of the whole file, nested .ipa files opened too."""
    entries = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.filename.endswith(".ipa"):
                inner = zipfile.ZipFile(io.BytesIO(archive.read(info)))
                entries += [
                    Entry(i.filename, i.compress_size, i.file_size) for i in inner.infolist()
                ]
            elif not info.is_dir():
                entries.append(Entry(info.filename, info.compress_size, info.file_size))
    return summarise(entries)


class ComponentTests:
    @pytest.mark.parametrize(
        ("name", "component"),
        [
            (APP + "Nimbus", ("Nimbus", "executable")),
            (APP + "Assets.car", ("Assets.car", "assets")),
            (APP + "de.lproj/Localizable.strings", ("de.lproj", "localization")),
            (APP + "Frameworks/Foo.framework/Foo", ("Frameworks/Foo.framework", "framework")),
            (APP + "PlugIns/W.appex/W", ("PlugIns/W.appex", "plugin")),
            (APP + "Extensions/E.appex/E", ("Extensions/E.appex", "plugin")),
            (APP + "Watch/N Watch.app/N", ("Watch/N Watch.app", "watch")),
            (APP + "AppClips/Clip.app/Clip", ("AppClips/Clip.app", "app_clip")),
            (APP + "Info.plist", ("Info.plist", "other")),
            (
                "Nimbus 7.xcarchive/dSYMs/Nimbus.app.dSYM/Contents/x",
                ("dSYMs/Nimbus.app.dSYM", "dsym"),
            ),
            ("Nimbus 7.xcarchive/Info.plist", ("Info.plist", "other")),
            (
                "Payload/Nimbus.app/Frameworks/A.framework/A",
                ("Frameworks/A.framework", "framework"),
            ),
            ("Payload/Nimbus.app/Nimbus", ("Nimbus", "executable")),
            ("SwiftSupport/iphoneos/libswiftCore.dylib", ("SwiftSupport", "other")),
            ("../../etc/passwd", ("..", "other")),
            ("/etc/shadow", ("", "other")),
        ],
    )
    def test_each_entry_belongs_to_the_component_the_contract_names(self, name, component):
        assert component_of(name) == component

    def test_components_sum_entries_and_sort_largest_first(self):
        components = summarise(
            [
                Entry(APP + "Frameworks/A.framework/A", 10, 30),
                Entry(APP + "Frameworks/A.framework/Info.plist", 1, 2),
                Entry(APP + "Assets.car", 50, 50),
            ]
        )
        assert [
            (c.name, c.entries, c.uncompressed_bytes, c.compressed_bytes) for c in components
        ] == [
            ("Assets.car", 1, 50, 50),
            ("Frameworks/A.framework", 2, 32, 11),
        ]


class ListingTests:
    def test_components_equal_a_brute_force_listing_of_the_whole_file(self):
        dataset = Dataset(seed=3, runs=40, size_scale=1e-3)
        checked = 0
        for artifact in dataset.all_visible_artifacts():
            body = artifact_body(dataset, artifact)
            if body is None:
                continue
            data = body.read(0, body.size)
            listed = summarise(read_listing(io.BytesIO(data)).entries)
            assert listed == brute_force_components(data)
            checked += 1
        assert checked > 10

    def test_a_zip_with_a_comment_after_the_central_directory_is_listed(self):
        data = zip_bytes({APP + "Nimbus": b"x" * 1000}, comment=b"c" * 40_000)
        listing = read_listing(io.BytesIO(data))
        assert [(e.name, e.uncompressed) for e in listing.entries] == [(APP + "Nimbus", 1000)]

    def test_zip64_records_are_read(self):
        body = build_zip(
            [ZipEntry(APP + "Nimbus", 1), ZipEntry(APP + "Assets.car", 1)],
            9000,
            seed="s",
            zip64=True,
        )
        listing = read_listing(io.BytesIO(body.read(0, body.size)))
        assert sum(e.uncompressed for e in listing.entries) > 8000

    def test_a_body_that_is_not_a_zip_says_so(self):
        with pytest.raises(NotAZip):
            read_listing(io.BytesIO(b"<html>Access denied</html>" * 100))

    def test_hostile_entry_names_are_stored_as_text_and_never_touch_the_disk(
        self, tmp_path, monkeypatch
    ):
        names = [
            "../../../outside.txt",
            "/absolute/path.txt",
            "nul\x00byte.txt",
            "Ünïcødé 🚀 ビルド.txt",
            "deep/" + "x" * 3000,
        ]
        files = [ZipEntry(n, text=b"data") for n in names] + [ZipEntry("filler", 1)]
        body = build_zip(files, 20_000, seed="s")
        monkeypatch.chdir(tmp_path)
        listing = read_listing(io.BytesIO(body.read(0, body.size)))
        assert [e.name for e in listing.entries] == [
            "../../../outside.txt",
            "/absolute/path.txt",
            "nul\ufffdbyte.txt",
            "Ünïcødé 🚀 ビルド.txt",
            "deep/" + "x" * 3000,
            "filler",
        ]
        assert list(tmp_path.rglob("*")) == []
        assert not (tmp_path.parent.parent / "outside.txt").exists()

    def test_a_compressed_ipa_is_listed_as_one_file_and_the_skip_is_noted(self):
        ipa = zip_bytes({"Payload/N.app/N": b"binary" * 100})
        data = zip_bytes({"N.ipa": ipa, "ExportOptions.plist": b"<plist/>"})
        listing = read_listing(io.BytesIO(data))
        assert [e.name for e in listing.entries] == ["N.ipa", "ExportOptions.plist"]
        assert listing.notes == ["N.ipa: compressed inside the zip, so its contents were not read"]

    def test_a_stored_ipa_is_read_in_place_with_the_thinning_report(self):
        ipa = zip_bytes({"Payload/N.app/N": b"binary" * 100, "Payload/N.app/Assets.car": b"a"})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("N.ipa", ipa, compress_type=zipfile.ZIP_STORED)
            archive.writestr(
                "App Thinning Size Report.txt",
                thinning_report("N", 50_000_000),
                compress_type=zipfile.ZIP_DEFLATED,
            )
        listing = read_listing(io.BytesIO(buffer.getvalue()))
        names = {component_of(e.name)[0] for e in listing.entries}
        assert names == {"N", "Assets.car", "App Thinning Size Report.txt"}
        assert [v["variant"] for v in listing.thinning] == [
            "N-Universal.ipa",
            "N-iPhone14,2.ipa",
            "N-iPhone10,3.ipa",
        ]


class ThinningReportTests:
    def test_variants_sizes_and_descriptors_are_parsed_leniently(self):
        report = (
            "App Thinning Size Report for All Variants of ExampleApp\n\n"
            "Variant: ExampleApp-1.ipa\n"
            "Supported variant descriptors: [device: iPhone12,1, os-version: 13.0] and "
            "[device: iPhone11,8, os-version: 13.0]\n"
            "App + On Demand Resources size: 5.4 MB compressed, 13.7 MB uncompressed\n"
            "App size: 5.4 MB compressed, 13.7 MB uncompressed\n"
            "On Demand Resources size: Zero KB compressed, Zero KB uncompressed\n\n"
            "Variant: Universal.ipa\r\n"
            "Supported variant descriptors: Universal\r\n"
            "App size: 1,234 KB compressed\r\n"
        )
        first, second = parse_report(report)
        assert first["variant"] == "ExampleApp-1.ipa"
        assert "iPhone12,1" in first["descriptors"]
        assert (first["total_compressed"], first["total_uncompressed"]) == (5_400_000, 13_700_000)
        assert (first["odr_compressed"], first["odr_uncompressed"]) == (0, 0)
        assert second["app_compressed"] == 1_234_000
        assert second["app_uncompressed"] is None
