"""Two App Store Connect accounts in a real browser: the switcher and the comparison chart.

Each account is its own simulator with its own key and data, synced over loopback into its
own account; the user is granted both.
"""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import User
from django.db.models import Sum

from artifacts_app import rollup
from artifacts_app.asc.auth import TokenProvider
from artifacts_app.models import CiArtifact, CiProduct
from artifacts_app.sync import sync
from tests.factories import grant, make_account
from tests.simulator_fixtures import SIM_ISSUER_ID, make_key_pair, start_simulator
from tests.sync_helpers import fast_client
from tests.test_browser import (  # noqa: F401  (the browser fixture and the skip mark)
    DRAWN_PIXELS,
    PASSWORD,
    SCREENSHOTS,
    browser,
    chart_data,
    pytestmark,
)

ACCOUNTS = {"agency": 31, "studio": 32}  # name: the seed of its simulated team


@pytest.fixture
def two_accounts(transactional_db):
    """Two teams, each a simulator with its own key, synced into its own account."""
    servers, accounts = [], {}
    try:
        for number, (name, seed) in enumerate(ACCOUNTS.items()):
            key, key_id = make_key_pair(), f"KEY{number:07d}"
            server = start_simulator(
                key,
                key_id=key_id,
                seed=seed,
                runs=30,
                products=2,
                days=40,
                now=datetime.now(UTC).replace(microsecond=0),
            )
            servers.append(server)
            tokens = TokenProvider(key_id, key.private_pem, SIM_ISSUER_ID)
            accounts[name] = make_account(name)
            run = sync(client=fast_client(server, tokens), reserve=0, account=accounts[name])
            assert run.status == "succeeded", run.error
        rollup.refresh_rollup()
        yield accounts
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def page(browser, live_server, two_accounts):  # noqa: F811
    user = User.objects.create_user("dana", password=PASSWORD)
    for account in two_accounts.values():
        grant(user, account)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: page.problems.append(msg.text) if msg.type in ("error", "warning") else None,
    )
    page.goto(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def bytes_in(data):
    return sum(row["bytes"] for row in data["series"])


def test_the_switcher_narrows_the_dashboard_to_one_account(page, two_accounts):
    switcher = page.get_by_label("Account", exact=True)
    assert switcher.locator("option").all_text_contents() == ["All accounts", "agency", "studio"]
    assert page.evaluate(DRAWN_PIXELS, "chart-accounts") > 500
    rows = page.locator("#accounts-table tbody tr td:first-child").all_text_contents()
    assert sorted(rows) == ["agency", "studio"]
    both = chart_data(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-accounts.png"), full_page=True)

    switcher.select_option("studio")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()

    assert parse_qs(urlparse(page.url).query)["account"] == ["studio"]
    studio = two_accounts["studio"]
    in_studio = CiArtifact.objects.filter(
        account=studio, run_created_date__date__gte=chart_data(page)["periods"][0]
    ).aggregate(total=Sum("file_size"))["total"]
    assert bytes_in(chart_data(page)) == in_studio < bytes_in(both)
    products = page.get_by_label("Product", exact=True).locator("option").all_text_contents()
    assert sorted(products[1:]) == sorted(
        CiProduct.objects.filter(account=studio).values_list("name", flat=True)
    )
    assert page.locator("#chart-accounts").count() == 0  # one account: nothing to compare
    assert page.get_by_label("Account", exact=True).input_value() == "studio"
    assert page.problems == []
