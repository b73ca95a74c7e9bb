"""The simulator's generated zips: exact sizes, valid CRCs, ZIP64, layouts that evolve."""

import io
import random
import zipfile
import zlib

import pytest
import requests

from artifacts_app.asc.simulator import Dataset
from artifacts_app.asc.simulator.layouts import artifact_body
from artifacts_app.asc.simulator.ranges import requested_range
from artifacts_app.asc.simulator.zips import Entry, build_zip, crc32_combine, filler

GiB = 1024**3

ENTRIES = [
    Entry("A.xcarchive/Products/Applications/A.app/A", 3),
    Entry("A.xcarchive/Info.plist", text=b"<plist>version</plist>" * 20),
    Entry("A.xcarchive/dSYMs/A.app.dSYM/Contents/Resources/DWARF/A", 2),
    Entry("A.xcarchive/Products/Applications/A.app/ja.lproj/Localizable.strings", 0.1),
]


def open_zip(body):
    return zipfile.ZipFile(io.BytesIO(body.read(0, body.size)))


class CrcTests:
    def test_combine_matches_the_crc_of_the_concatenation(self):
        first, second = b"the first part", b"and the second, longer part"
        combined = crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second))
        assert combined == zlib.crc32(first + second)

    @pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096 + 7, 100_000])
    def test_a_repeated_block_knows_its_crc_without_being_read(self, size):
        body = filler("seed", size)
        assert body.crc == zlib.crc32(body.read(0, size))


class BuildZipTests:
    @pytest.mark.parametrize("size", [900, 4096, 65_537, 1_234_567])
    def test_the_zip_has_exactly_the_size_asked_and_valid_crcs(self, size):
        body = build_zip(ENTRIES, size, seed="s")
        assert body.size == size
        archive = open_zip(body)
        assert archive.testzip() is None
        assert len(body.read(0, size + 100)) == size

    def test_any_range_reads_the_same_bytes_as_the_whole(self):
        body = build_zip(ENTRIES, 300_000, seed="s")
        whole = body.read(0, body.size)
        rng = random.Random(3)
        for _ in range(300):
            offset, length = rng.randrange(body.size), rng.randrange(70_000)
            assert body.read(offset, length) == whole[offset : offset + length]

    def test_a_comment_follows_the_central_directory(self):
        body = build_zip(ENTRIES, 50_000, seed="s", comment=b"built by CI")
        archive = open_zip(body)
        assert archive.comment == b"built by CI"
        assert archive.testzip() is None

    def test_zip64_records_are_valid_for_zipfile(self):
        body = build_zip(ENTRIES, 40_000, seed="s", zip64=True)
        archive = open_zip(body)
        assert archive.testzip() is None
        assert sum(info.file_size for info in archive.infolist()) > 30_000

    def test_an_archive_over_4_gib_lists_sizes_and_offsets_beyond_32_bits(self):
        size = 9 * GiB + 12_345
        body = build_zip(ENTRIES, size, seed="s")
        tail = body.read(size - 1_000_000, 1_000_000)
        assert b"PK\x06\x06" in tail  # the ZIP64 end of central directory record
        archive = zipfile.ZipFile(_Window(body))
        infos = archive.infolist()
        assert max(info.file_size for info in infos) > 2**32
        assert max(info.header_offset for info in infos) > 2**32
        assert archive.read("A.xcarchive/Info.plist") == b"<plist>version</plist>" * 20

    def test_entries_that_do_not_fit_are_left_out_and_nothing_fits_gives_none(self):
        small = build_zip(ENTRIES, 400, seed="s")
        assert 0 < len(open_zip(small).infolist()) < len(ENTRIES)
        assert build_zip(ENTRIES, 40, seed="s") is None

    def test_a_nested_zip_is_stored_and_readable_in_place(self):
        def inner(size):
            return build_zip([Entry("Payload/A.app/A", 1)], size, seed="in")

        body = build_zip([Entry("A.ipa", 1, nested=inner)], 20_000, seed="s")
        outer = open_zip(body)
        assert outer.getinfo("A.ipa").compress_type == zipfile.ZIP_STORED
        nested = zipfile.ZipFile(io.BytesIO(outer.read("A.ipa")))
        assert nested.testzip() is None


class LayoutTests:
    def test_archives_gain_a_framework_and_an_extension_over_a_workflows_runs(self):
        dataset = Dataset(seed=7, runs=120, products=1, size_scale=1e-3)
        archives = [a for a in dataset.all_visible_artifacts() if a.file_type == "ARCHIVE"]
        first, last = archives[0], archives[-1]
        first_names = set(open_zip(artifact_body(dataset, first)).namelist())
        last_names = set(open_zip(artifact_body(dataset, last)).namelist())
        added = {name.split(".app/", 1)[-1] for name in last_names - first_names}
        assert "Frameworks/Analytics.framework/Analytics" in added
        assert "PlugIns/Widgets.appex/Widgets" in added

    def test_each_zip_artifact_downloads_as_a_valid_zip_of_its_advertised_size(self):
        dataset = Dataset(seed=7, runs=30, size_scale=1e-4)
        bodies = 0
        for artifact in dataset.all_visible_artifacts():
            body = artifact_body(dataset, artifact)
            if artifact.file_type in ("LOG_BUNDLE", "RESULT_BUNDLE", "TEST_PRODUCTS"):
                assert body is None
                continue
            assert body.size == artifact.file_size
            assert open_zip(body).testzip() is None
            bodies += 1
        assert bodies > 5

    def test_the_development_export_holds_a_stored_ipa_and_a_thinning_report(self):
        dataset = Dataset(seed=7, runs=40, size_scale=1e-3)
        export = next(
            a for a in dataset.all_visible_artifacts() if a.file_name == "development.zip"
        )
        archive = open_zip(artifact_body(dataset, export))
        ipa = next(info for info in archive.infolist() if info.filename.endswith(".ipa"))
        assert ipa.compress_type == zipfile.ZIP_STORED
        report = archive.read("App Thinning Size Report.txt").decode()
        assert "Variant:" in report and "compressed" in report


class _Window(io.RawIOBase):
    """A read-only file over a body, for zipfile (the body is never read whole)."""

    def __init__(self, body):
        self.body, self.position = body, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.body.size}
        self.position = base[whence] + offset
        return self.position

    def tell(self):
        return self.position

    def read(self, size=-1):
        size = self.body.size - self.position if size is None or size < 0 else size
        data = self.body.read(self.position, size)
        self.position += len(data)
        return data


class RequestedRangeTests:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            (None, None),
            ("bytes=0-99", (0, 100)),
            ("bytes=900-", (900, 1000)),
            ("bytes=-100", (900, 1000)),
            ("bytes=-5000", (0, 1000)),
            ("bytes=990-5000", (990, 1000)),
            ("bytes=1000-", "unsatisfiable"),
            ("bytes=-0", "unsatisfiable"),
            ("bytes=0-1,5-6", None),  # several ranges: the whole body, as the RFC allows
            ("items=0-5", None),
            ("bytes=9-3", None),
        ],
    )
    def test_one_byte_range_is_understood_as_the_rfc_says(self, header, expected):
        assert requested_range(header, 1000) == expected


class RangeDownloadTests:
    def url(self, simulator, asc_client, file_type="ARCHIVE"):
        sim = next(a for a in simulator.dataset.all_visible_artifacts() if a.file_type == file_type)
        return sim, asc_client.artifact(sim.id).download_url

    def test_a_range_is_answered_206_with_content_range(self, simulator, asc_client):
        sim, url = self.url(simulator, asc_client)
        whole = requests.get(url, timeout=5).content

        response = requests.get(url, headers={"Range": "bytes=10-109"}, timeout=5)
        suffix = requests.get(url, headers={"Range": "bytes=-22"}, timeout=5)

        assert len(whole) == sim.file_size
        assert response.status_code == 206
        assert response.headers["Content-Range"] == f"bytes 10-109/{sim.file_size}"
        assert response.content == whole[10:110]
        assert suffix.status_code == 206 and suffix.content == whole[-22:]
        assert suffix.content.startswith(b"PK\x05\x06")  # the end of central directory

    def test_a_range_past_the_end_is_416(self, simulator, asc_client):
        sim, url = self.url(simulator, asc_client)
        response = requests.get(url, headers={"Range": f"bytes={sim.file_size}-"}, timeout=5)
        assert response.status_code == 416
        assert response.headers["Content-Range"] == f"bytes */{sim.file_size}"

    def test_a_host_refusing_ranges_sends_the_whole_file(self, simulator, asc_client):
        sim, url = self.url(simulator, asc_client)
        simulator.config.honour_ranges = False
        response = requests.get(url, headers={"Range": "bytes=-22"}, timeout=5)
        assert response.status_code == 200 and len(response.content) == sim.file_size
