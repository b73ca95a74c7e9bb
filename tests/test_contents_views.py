"""Contents in the JSON API and on pages: components, "what grew", baselines, top components."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from artifacts_app.baselines import baseline_for, with_baseline_ids
from artifacts_app.contents.models import ArtifactComponent, ArtifactContents
from artifacts_app.models import CiBuildRun
from tests.factories import grant, make_artifact, make_build_action, make_build_run, make_workflow

HOSTILE = "<script>alert(1)</script>"


def inspected_run(workflow, number, components, status="SUCCEEDED", thinning=()):
    """A run whose archive was inspected with `components` ({name: (kind, bytes)})."""
    run = make_build_run(
        workflow=workflow,
        number=number,
        completion_status=status,
        created_date=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=number),
    )
    artifact = make_artifact(
        build_action=make_build_action(build_run=run), file_name=f"App {number}.xcarchive.zip"
    )
    contents = ArtifactContents.objects.create(
        artifact=artifact,
        status="inspected",
        source="ranges",
        inspected_at=timezone.now(),
        entries=len(components),
        uncompressed_bytes=sum(size for _kind, size in components.values()),
        compressed_bytes=sum(size // 2 for _kind, size in components.values()),
        thinning=list(thinning),
    )
    for name, (kind, size) in components.items():
        ArtifactComponent.objects.create(
            contents=contents,
            name=name,
            kind=kind,
            entries=1,
            uncompressed_bytes=size,
            compressed_bytes=size // 2,
        )
    return run, artifact


@pytest.fixture
def logged_in(client):
    client.force_login(grant(User.objects.create_user("dana")))
    return client


@pytest.fixture
def history(db):
    """Run 1 and 3 succeeded, run 2 failed (never a baseline), run 4 is the one looked at."""
    workflow = make_workflow()
    base = {"App": ("executable", 1000), "Assets.car": ("assets", 500)}
    inspected_run(workflow, 1, base)
    inspected_run(workflow, 2, {**base, "Frameworks/Huge.framework": ("framework", 9999)}, "FAILED")
    inspected_run(workflow, 3, {**base, "de.lproj": ("localization", 40)})
    run, artifact = inspected_run(
        workflow,
        4,
        {
            "App": ("executable", 1100),
            "Assets.car": ("assets", 400),
            "Frameworks/Analytics.framework": ("framework", 700),
            HOSTILE: ("other", 5),
        },
    )
    return workflow, run, artifact


class BaselineTests:
    def test_the_baseline_is_the_newest_earlier_successful_run(self, history):
        workflow, run, _artifact = history
        assert baseline_for(run).number == 3
        annotated = with_baseline_ids(CiBuildRun.objects.filter(workflow=workflow))
        baselines = {r.number: r.baseline_id for r in annotated}
        by_number = {r.pk: r.number for r in CiBuildRun.objects.all()}
        assert {n: by_number.get(b) for n, b in baselines.items()} == {
            1: None,
            2: 1,
            3: 1,
            4: 3,
        }


@pytest.mark.django_db
class ContentsApiTests:
    def test_contents_lists_components_largest_first(self, history, logged_in):
        _workflow, _run, artifact = history

        body = logged_in.get(f"/api/v1/artifacts/{artifact.asc_id}/contents").json()

        assert {k: body[k] for k in ("id", "file_name", "file_type", "entries")} == {
            "id": artifact.asc_id,
            "file_name": "App 4.xcarchive.zip",
            "file_type": "ARCHIVE",
            "entries": 4,
        }
        assert body["uncompressed_bytes"] == 2205
        assert [c["name"] for c in body["components"]] == [
            "App",
            "Frameworks/Analytics.framework",
            "Assets.car",
            HOSTILE,
        ]
        assert body["components"][0] == {
            "name": "App",
            "kind": "executable",
            "entries": 1,
            "uncompressed_bytes": 1100,
            "compressed_bytes": 550,
        }

    def test_an_unknown_or_uninspected_artifact_is_a_404_with_an_error(self, logged_in):
        plain = make_artifact()
        for asc_id in ("nope", plain.asc_id):
            response = logged_in.get(f"/api/v1/artifacts/{asc_id}/contents")
            assert response.status_code == 404 and "error" in response.json()

    def test_contents_need_a_login(self, history, client):
        _workflow, _run, artifact = history
        response = client.get(f"/api/v1/artifacts/{artifact.asc_id}/contents")
        assert response.status_code in (302, 401)

    def test_the_diff_against_the_baseline_marks_added_and_removed_sorted_by_change(
        self, history, logged_in
    ):
        _workflow, run, _artifact = history

        body = logged_in.get(f"/api/v1/runs/{run.asc_id}/contents-diff").json()

        assert body["against"]["number"] == 3
        assert [(c["name"], c["status"], c["change_bytes"]) for c in body["components"]] == [
            ("Frameworks/Analytics.framework", "added", 700),
            ("App", "changed", 100),
            ("Assets.car", "changed", -100),
            ("de.lproj", "removed", -40),
            (HOSTILE, "added", 5),
        ]
        assert body["change_bytes"] == 665

    def test_the_diff_compares_with_a_run_picked_by_number(self, history, logged_in):
        _workflow, run, _artifact = history

        body = logged_in.get(f"/api/v1/runs/{run.asc_id}/contents-diff?against=2").json()

        assert body["against"]["number"] == 2
        assert body["components"][0] == {
            "name": "Frameworks/Huge.framework",
            "kind": "framework",
            "status": "removed",
            "before_bytes": 9999,
            "after_bytes": None,
            "change_bytes": -9999,
            "before_compressed_bytes": 4999,
            "after_compressed_bytes": None,
        }

    @pytest.mark.parametrize(
        ("query", "message"),
        [("against=x", "against: 'x' is not a run number"), ("against=99", "no run #99")],
    )
    def test_an_unusable_comparison_is_a_400_naming_the_parameter(
        self, history, logged_in, query, message
    ):
        _workflow, run, _artifact = history
        response = logged_in.get(f"/api/v1/runs/{run.asc_id}/contents-diff?{query}")
        assert response.status_code == 400 and message in response.json()["error"]

    def test_a_run_without_inspected_artifacts_has_no_diff(self, logged_in):
        run = make_build_run()
        response = logged_in.get(f"/api/v1/runs/{run.asc_id}/contents-diff")
        assert response.status_code == 404


@pytest.mark.django_db
class ContentsPageTests:
    def test_the_run_page_shows_what_grew_since_the_baseline(self, history, logged_in):
        _workflow, run, _artifact = history

        page = logged_in.get(f"/runs/{run.asc_id}/").content.decode()

        assert "What grew since" in page and "#3</a> (baseline" in page
        assert "Frameworks/Analytics.framework" in page and "added" in page
        assert "chartjs-chart-treemap.min.js" in page and 'id="treemap-data"' in page
        assert HOSTILE not in page  # escaped, in the table and in the treemap's JSON

    def test_a_bad_comparison_on_the_page_says_why_and_shows_the_baseline(self, history, logged_in):
        _workflow, run, _artifact = history
        page = logged_in.get(f"/runs/{run.asc_id}/?against=99").content.decode()
        assert "this workflow has no run #99" in page and "#3</a> (baseline" in page

    def test_the_thinning_report_is_shown_per_variant(self, db, logged_in):
        variant = {
            "variant": "App-iPhone14,2.ipa",
            "descriptors": "[device: iPhone14,2, os-version: 16.0]",
            "app_compressed": 5_400_000,
            "app_uncompressed": 13_700_000,
        }
        run, _artifact = inspected_run(
            make_workflow(), 1, {"App": ("executable", 1)}, thinning=[variant]
        )
        page = logged_in.get(f"/runs/{run.asc_id}/").content.decode()
        assert "App-iPhone14,2.ipa" in page and "5.4 MB" in page and "13.7 MB" in page

    def test_the_workflow_page_charts_its_top_components_over_runs(self, history, logged_in):
        workflow, _run, _artifact = history

        response = logged_in.get(f"/workflows/{workflow.asc_id}/")

        trend = response.context["components_trend"]
        assert trend["runs"] == [1, 2, 3, 4]
        series = {s["name"]: s["bytes"] for s in trend["series"]}
        assert series["Frameworks/Analytics.framework"] == [0, 0, 0, 700]
        assert series["App"] == [1000, 1000, 1000, 1100]
        assert b"components-trend.js" in response.content


@pytest.mark.django_db
class ContentsAdminTests:
    def test_staff_see_inspections_read_only_in_the_admin(self, history, client):
        client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
        response = client.get("/admin/artifacts_app/artifactcontents/?status=inspected")
        assert response.status_code == 200
        assert b"App 4.xcarchive.zip" in response.content
        assert b"Add artifact contents" not in response.content
