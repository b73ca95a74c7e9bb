"""The contents section in a real browser: the treemap and the components chart draw."""

from artifacts_app.asc.simulator import download_body
from artifacts_app.contents.files import FetchedFile
from artifacts_app.contents.inspect import Outcome, record
from artifacts_app.contents.listing import read_listing
from artifacts_app.models import CiArtifact
from tests.test_browser import (  # noqa: F401  (fixtures)
    DRAWN_PIXELS,
    SCREENSHOTS,
    browser,
    page,
    pytestmark,
    synced_account,
)


def inspect_locally(dataset, file_type="ARCHIVE"):
    """Record the listing of every mirrored artifact of `file_type`, read from its body."""
    for artifact in CiArtifact.objects.filter(file_type=file_type):
        body = download_body(dataset, dataset.artifacts[artifact.asc_id])
        file = FetchedFile(body.size, lambda start, end, body=body: body.read(start, end - start))
        listing = read_listing(file)
        record(artifact, Outcome("inspected", source="ranges", listing=listing))


def test_the_run_page_draws_the_treemap_and_the_workflow_page_the_components(
    page,  # noqa: F811
    live_server,
    synced_account,  # noqa: F811
):
    inspect_locally(synced_account)
    artifact = CiArtifact.objects.filter(file_type="ARCHIVE").order_by("-run_created_date")[0]

    page.goto(f"{live_server.url}/runs/{artifact.build_run.asc_id}/")
    assert page.evaluate(DRAWN_PIXELS, "chart-treemap") > 5000
    assert page.get_by_role("heading", name="What grew", exact=False).count() == 1
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "run-contents.png"), full_page=True)
    assert page.get_by_text("Ünïcødé 🚀 ビルド.txt", exact=True).count() > 0  # an entry name

    page.goto(f"{live_server.url}/workflows/{artifact.workflow.asc_id}/")
    assert page.evaluate(DRAWN_PIXELS, "chart-components") > 500
    page.screenshot(path=str(SCREENSHOTS / "workflow-components.png"), full_page=True)
    assert page.problems == []
