"""The Content-Security-Policy holds in a real browser: pages work with nothing inline.

Chromium reports every resource or inline script and style the policy blocks as a console
error; the dashboard (charts drawn) and the admin must produce none.
"""

import pytest
from django.contrib.auth.models import User

from tests.test_browser import CHROMIUM, DRAWN_PIXELS, browser, synced_account  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not __import__("pathlib").Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing: apt-get install chromium",
    ),
]
PASSWORD = "a-long-policy-test-password"


@pytest.fixture
def staff_page(browser, live_server, synced_account):  # noqa: F811
    User.objects.create_superuser("admin", password=PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console = []
    page.on("console", lambda msg: page.console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: page.console.append(f"page error: {exc}"))
    page.goto(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def test_the_dashboard_and_the_admin_run_under_the_policy_without_violations(
    staff_page, live_server
):
    page = staff_page
    response = page.goto(f"{live_server.url}/")
    policy = response.header_value("content-security-policy")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert page.evaluate(DRAWN_PIXELS, "chart-bytes") > 500
    for path in ("/admin/", "/admin/artifacts_app/ciartifact/", "/admin/artifacts_app/syncrun/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert response.header_value("content-security-policy") == policy
    page.get_by_role("link", name="Build runs").click()  # the admin's own scripts at work
    page.wait_for_load_state()

    violations = [line for line in page.console if "Content Security Policy" in line]
    assert violations == []
    assert not [line for line in page.console if line.startswith("page error")]
