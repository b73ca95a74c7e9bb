"""The dashboard in a real browser: Debian's Chromium driven by Playwright.

Data comes the way users get it: the simulator (with its hostile names) over loopback, one
sync pass, then the pages served by a live server.
"""

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Sum

from artifacts_app import rollup
from artifacts_app.asc.simulator import run_in_thread
from artifacts_app.asc.simulator.dataset import HOSTILE_NAMES
from artifacts_app.baselines import baseline_for
from artifacts_app.models import Account, CiArtifact, CiBuildRun, CiProduct, CiWorkflow, SyncRun
from artifacts_app.sync import sync
from artifacts_app.templatetags.sizes import signed_bytes
from artifacts_app.units import format_bytes
from artifacts_app.webhooks import queue
from tests.factories import grant
from tests.simulator_fixtures import SIM_ISSUER_ID, SIM_KEY_ID
from tests.sync_helpers import fast_client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts"
CHARTS = ["chart-bytes", "chart-share", "chart-count", "chart-trend"]
PASSWORD = "a-long-browser-test-password"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"
    ),
]

# Count the pixels a chart drew: a canvas that stayed blank has none.
DRAWN_PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) drawn += 1; }
  return drawn;
}"""


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def synced_account(transactional_db, asc_key, asc_tokens):
    """A simulated account with hostile names, synced into the mirror, its clock at now."""
    server = run_in_thread(
        seed=11,
        runs=40,
        products=2,
        days=60,
        hostile_names=True,
        now=datetime.now(UTC).replace(microsecond=0),
        public_key=asc_key.public_pem,
        key_id=SIM_KEY_ID,
        issuer_id=SIM_ISSUER_ID,
    )
    try:
        run = sync(client=fast_client(server, asc_tokens), reserve=0)
        assert run.status == "succeeded", run.error
        rollup.refresh_rollup()
        yield server.dataset
    finally:
        server.stop()


@pytest.fixture
def page(browser, live_server, synced_account):
    grant(User.objects.create_user("dana", password=PASSWORD))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on(
        "console",
        lambda msg: (
            page.problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on(
        "dialog",
        lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()),
    )
    page.goto(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def chart_data(page):
    return json.loads(page.locator("#chart-data").text_content())


def test_every_chart_draws_and_the_page_has_no_console_errors(page):
    for chart in CHARTS:
        assert page.evaluate(DRAWN_PIXELS, chart) > 500, f"{chart} drew nothing"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)
    assert page.problems == []


def test_changing_a_filter_changes_the_data_and_the_url(page):
    before = chart_data(page)
    assert before["granularity"] == "day"

    page.get_by_label("Per", exact=True).select_option("week")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    query = parse_qs(urlparse(page.url).query)
    assert query["granularity"] == ["week"]
    after = chart_data(page)
    assert after["granularity"] == "week"
    assert len(after["periods"]) < len(before["periods"])
    assert all(datetime.fromisoformat(p).weekday() == 0 for p in after["periods"])

    page.get_by_label("File type", exact=True).select_option("LOG_BUNDLE")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").press("Enter")  # the keyboard way
    query = parse_qs(urlparse(page.url).query)
    assert query["file_type"] == ["LOG_BUNDLE"]
    assert query["granularity"] == ["week"]  # the earlier choice is kept in the URL
    assert {row["file_type"] for row in chart_data(page)["series"]} == {"LOG_BUNDLE"}

    page.get_by_label("Range", exact=True).select_option("7")
    assert page.get_by_label("From", exact=True).input_value() != before["periods"][0]
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    query = parse_qs(urlparse(page.url).query)
    start, end = (datetime.fromisoformat(query[k][0]) for k in ("start", "end"))
    assert (end - start).days == 6

    # The URL is the view: opening it afresh shows the same filters.
    page.goto(page.url)
    assert page.get_by_label("Per", exact=True).input_value() == "week"
    assert page.get_by_label("File type", exact=True).input_value() == "LOG_BUNDLE"
    for chart in ("chart-bytes", "chart-count"):
        assert page.evaluate(DRAWN_PIXELS, chart) > 0
    assert page.problems == []


# What a chart's y axis and tooltip say for a size, from the options the page gave the chart.
AXIS_AND_TOOLTIP = """([id, size]) => {
  const chart = Chart.getChart(id);
  const options = chart.config.options;
  const dataset = chart.data.datasets[0];
  const label = options.plugins.tooltip.callbacks.label({ dataset: dataset, parsed: { y: size } });
  return [options.scales.y.ticks.callback(size), label.slice(dataset.label.length + 2)];
}"""

LARGEST_LINES_SHOWN = """() => Chart.getChart("chart-trend").data.datasets
  .filter((d) => / \\(largest\\)$/.test(d.label) && !d.hidden).length"""


def test_chart_axes_and_tooltips_give_sizes_in_the_units_of_the_tables(page):
    for size in (999, 1_000, 250_000_000, 3_500_000_000, 1_048_576):
        shown = page.evaluate("(size) => window.ArtifactCharts.formatBytes(size)", size)
        assert shown == format_bytes(size)
        for chart in ("chart-bytes", "chart-trend"):
            axis, tooltip = page.evaluate(AXIS_AND_TOOLTIP, [chart, size])
            assert axis == tooltip == format_bytes(size), chart


def test_only_the_workflow_page_shows_the_largest_artifact_lines(page, live_server):
    assert page.evaluate(LARGEST_LINES_SHOWN) == 0
    workflow = CiWorkflow.objects.filter(artifacts__file_type="ARCHIVE").first()
    page.goto(f"{live_server.url}/workflows/{workflow.asc_id}/")
    assert page.evaluate(LARGEST_LINES_SHOWN) > 0
    assert page.problems == []


# As the sync stores them: a NUL, which PostgreSQL cannot hold, becomes U+FFFD.
STORED_HOSTILE_NAMES = [name.replace("\x00", "\ufffd") for name in HOSTILE_NAMES]


def test_hostile_names_from_the_api_show_as_text(page, live_server):
    hostile = HOSTILE_NAMES[0]  # the first product and one of its workflows carry it
    assert page.get_by_text(hostile, exact=True).count() > 0
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    # A hostile-named workflow that archives: its page draws its size trend.
    workflow = (
        CiWorkflow.objects.filter(name__in=STORED_HOSTILE_NAMES, artifacts__file_type="ARCHIVE")
        .distinct()
        .first()
    )
    page.goto(f"{live_server.url}/workflows/{workflow.asc_id}/")
    assert page.get_by_role("heading", level=1).text_content() == workflow.name
    assert page.evaluate(DRAWN_PIXELS, "chart-trend") > 0
    page.get_by_role("link", name="#", exact=False).first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).text_content().startswith("Build run #")
    assert page.problems == []


# --- Figures a team can trust ----------------------------------------------------------------

LEGEND = """(id) => Chart.getChart(id).legend.legendItems.map((item) => item.text)"""
X_TICKS = """(id) => Chart.getChart(id).scales.x.ticks.map((t) => t.label)"""
OVERFLOW = """() => ({
  page: document.documentElement.scrollWidth,
  tables: Array.from(document.querySelectorAll(".table-wrap"))
    .filter((w) => w.scrollWidth > w.clientWidth + 1).length,
})"""


RESULTS_FIT = """() => {
  const results = document.querySelector(".results");
  return results.scrollWidth <= results.clientWidth;
}"""
TREND_MARKS = """() => {
  const sets = Chart.getChart("chart-trend").data.datasets;
  const marker = sets.find((d) => d.pointStyle === "triangle");
  return [
    { pointStyle: marker.pointStyle, label: marker.label, colour: marker.backgroundColor },
    sets.filter((d) => d !== marker).map((d) => d.borderColor),
  ];
}"""
CARD_WIDTHS = """() => [...document.querySelectorAll(".charts > .card")]
  .map((card) => Math.round(card.getBoundingClientRect().width))"""
DATE_WRAPPING = """() => [...document.querySelectorAll(".kpis .date")]
  .map((span) => getComputedStyle(span).whiteSpace)"""
SIZE_WRAPPING = """() => [...document.querySelectorAll("td.field-size")]
  .map((td) => getComputedStyle(td).whiteSpace)"""


def shoot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_trend_legend_names_each_workflow_once_with_its_product(page):
    legend = [text for text in page.evaluate(LEGEND, "chart-trend") if "(median)" in text]
    assert len(legend) == len(set(legend)) > 1
    expected = {
        f"{w.product.name} · {w.name} (median)"
        for w in CiWorkflow.objects.filter(
            artifacts__file_type="ARCHIVE",
            artifacts__run_created_date__gte=datetime.fromisoformat(
                chart_data(page)["trend"]["periods"][0] + "T00:00:00+00:00"
            ),
        )
        .select_related("product")
        .distinct()
    }
    assert set(legend) == expected
    # The KPI cards share one top edge, and their dates do not break inside.
    tops = page.evaluate("[...document.querySelectorAll('.kpis > .card')].map((c) => c.offsetTop)")
    assert len(set(tops)) == 1
    assert page.evaluate(DATE_WRAPPING) == ["nowrap", "nowrap"]
    shoot(page, "trust-dashboard")
    assert page.problems == []


def test_the_file_type_filter_changes_the_trend_and_its_numbers(page):
    assert page.get_by_label("Trend of").input_value() == "ARCHIVE"  # no type filter yet
    page.get_by_label("File type", exact=True).select_option("LOG_BUNDLE")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    trend = chart_data(page)["trend"]
    assert trend["file_types"] == ["LOG_BUNDLE"]
    assert page.get_by_role("heading", name="Log bundle size per workflow").is_visible()
    assert page.get_by_label("Trend of").count() == 0  # the filter decides: no second selector
    # Each workflow's largest log bundle of the range, as the database adds it up per run.
    for line in trend["workflows"]:
        sizes = (
            CiArtifact.objects.filter(workflow__asc_id=line["workflow"], file_type="LOG_BUNDLE")
            .filter(run_created_date__date__gte=trend["periods"][0])
            .values("build_run")
            .annotate(total=Sum("file_size"))
            .values_list("total", flat=True)
        )
        assert max(value for value in line["max"] if value is not None) == max(sizes)
    assert page.problems == []


def test_the_workflow_list_narrows_to_the_chosen_product(page):
    product = CiProduct.objects.order_by("name").first()
    page.get_by_label("Product", exact=True).select_option(product.asc_id)
    offered = page.locator("#f-workflow option:not([hidden])[value]:not([value=''])")
    assert sorted(offered.all_text_contents()) == sorted(
        f"{product.name} · {w.name}" for w in product.workflows.all()
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    assert parse_qs(urlparse(page.url).query)["product"] == [product.asc_id]
    assert page.problems == []


def test_a_run_page_shows_its_change_against_its_baseline(page, live_server):
    # A finished run whose previous run becomes a canceled one: the change must skip over it.
    run, previous = next(
        (run, previous)
        for run in CiBuildRun.objects.filter(execution_progress="COMPLETE").order_by("-number")
        for previous in [baseline_for(run)]
        if previous is not None and baseline_for(previous) is not None and run.artifacts.exists()
    )
    CiBuildRun.objects.filter(pk=previous.pk).update(completion_status="CANCELED")
    baseline = baseline_for(run)
    assert baseline is not None and baseline.number < previous.number
    size = CiArtifact.objects.filter(build_run=run).aggregate(total=Sum("file_size"))["total"]
    base = CiArtifact.objects.filter(build_run=baseline).aggregate(total=Sum("file_size"))["total"]
    page.goto(f"{live_server.url}/runs/{run.asc_id}/")
    change = page.locator(".change").first.text_content()
    assert f"vs #{baseline.number}" in change
    assert signed_bytes(size - (base or 0)) in change
    shoot(page, "trust-run")
    assert page.problems == []


def test_the_workflow_page_fills_its_rows(page, live_server):
    workflow = CiWorkflow.objects.filter(artifacts__file_type="ARCHIVE").first()
    page.goto(f"{live_server.url}/workflows/{workflow.asc_id}/")
    widths = page.evaluate(CARD_WIDTHS)
    assert len(widths) >= 2 and len(set(widths)) == 1  # no card beside an empty half row
    assert page.problems == []


def test_no_sideways_scrolling_at_390_pixels(page, live_server):
    page.set_viewport_size({"width": 390, "height": 844})
    run = CiBuildRun.objects.filter(artifacts__isnull=False).first()
    for path, name in (("/", "trust-dashboard-390"), (f"/runs/{run.asc_id}/", "trust-run-390")):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate(OVERFLOW) == {"page": 390, "tables": 0}, path
        shoot(page, name)
    assert page.problems == []


def test_months_read_as_names_and_partial_periods_say_so(page, live_server):
    page.goto(f"{live_server.url}/?granularity=month")
    ticks = page.evaluate(X_TICKS, "chart-bytes")
    periods = [date.fromisoformat(p) for p in chart_data(page)["periods"]]
    start = date.fromisoformat(page.get_by_label("From", exact=True).input_value())
    cut = " (partial)" if start.day != 1 else ""  # the range starts within its first month
    assert ticks[0] == f"{periods[0]:%b %Y}{cut}"
    assert ticks[1:-1] == [f"{p:%b %Y}" for p in periods[1:-1]]
    assert ticks[-1] == f"{periods[-1]:%b %Y} (partial)"  # the month under way
    shoot(page, "trust-months")
    assert page.problems == []


def test_a_regression_is_marked_by_shape_and_a_colour_no_line_uses(page, live_server):
    # Make the newest archive of a workflow with a few runs before it ten times bigger.
    artifact = next(
        a
        for a in CiArtifact.objects.filter(file_type="ARCHIVE").order_by("-run_created_date")
        if CiArtifact.objects.filter(
            workflow=a.workflow, file_type="ARCHIVE", run_created_date__lt=a.run_created_date
        ).count()
        >= 5
    )
    CiArtifact.objects.filter(pk=artifact.pk).update(file_size=artifact.file_size * 10)
    page.goto(f"{live_server.url}/")
    marker, lines = page.evaluate(TREND_MARKS)
    assert marker["pointStyle"] == "triangle" and marker["label"].startswith("▲")
    assert marker["colour"] not in lines
    assert artifact.build_run.asc_id in [
        r["build_run"] for r in chart_data(page)["trend"]["regressions"]
    ]
    assert page.problems == []


def test_a_missing_page_is_the_sites_own_404(page, live_server):
    response = page.goto(f"{live_server.url}/runs/no-such-run/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).text_content() == "Page not found"
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") == "8px"
    shoot(page, "trust-404")
    page.get_by_role("link", name="Back to the dashboard").click()
    page.wait_for_url(f"{live_server.url}/")


def test_admin_lists_fit_at_1440_pixels_and_the_favicon_is_found(page, live_server):
    User.objects.filter(username="dana").update(is_staff=True, is_superuser=True)
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.set_viewport_size({"width": 1440, "height": 900})
    for model in ("ciartifact", "cibuildrun", "syncrun"):
        page.goto(f"{live_server.url}/admin/artifacts_app/{model}/")
        assert page.evaluate(RESULTS_FIT), model
    page.goto(f"{live_server.url}/admin/artifacts_app/ciartifact/")
    assert set(page.evaluate(SIZE_WRAPPING)) == {"nowrap"}  # "533.1 MB" on one line
    shoot(page, "trust-admin-1440")
    assert missing == []


def test_the_usage_page_draws_compute_hours_against_the_plan(page, live_server):
    page.get_by_role("link", name="Usage", exact=True).click()
    page.wait_for_url(f"{live_server.url}/usage/")

    assert page.evaluate(DRAWN_PIXELS, "chart-usage") > 500
    assert "estimate" in page.get_by_role("heading", level=1).text_content()
    assert chart_data(page)["workflows"]  # the synced runs' actions have start and finish
    page.screenshot(path=str(SCREENSHOTS / "usage.png"), full_page=True)
    assert page.problems == []


def test_the_sync_health_page_shows_each_account_with_its_webhook_queue(page, live_server):
    User.objects.filter(username="dana").update(is_staff=True)
    team_b = Account.objects.create(name="team-b")
    team_b.users.add(User.objects.get(username="dana"))
    SyncRun.objects.create(
        account=team_b, status="failed", error='401 NOT_AUTHORIZED <script>alert("b")</script>'
    )
    queue.record_delivery("run-of-team-b", "BUILD_COMPLETED", team_b)
    queue.fail(queue.claim("worker:1", team_b), error="503 <b>busy</b>")

    page.goto(f"{live_server.url}/sync/")

    accounts = page.get_by_role("heading", level=2).all_text_contents()
    assert accounts == ["Account default", "Account team-b"]
    team_b_section = page.get_by_role("region", name="Account team-b")
    assert "1, 1 backing off" in team_b_section.text_content()
    assert "503 <b>busy</b>" in team_b_section.get_by_role("table").first.text_content()
    assert '<script>alert("b")</script>' in team_b_section.text_content()  # text, not markup
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(OVERFLOW)["page"] == 390
    shoot(page, "sync-health-390")
    assert page.problems == []
