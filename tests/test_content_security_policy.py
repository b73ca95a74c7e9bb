"""The Content-Security-Policy holds in a real browser: pages work with nothing inline.

Chromium reports every resource, inline script or inline style the policy blocks as a
console error; the dashboard (charts drawn) and the admin must produce none.
"""

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from tests.test_browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    DRAWN_PIXELS,
    browser,
    page,
    synced_account,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium"
    ),
]


def test_the_dashboard_and_the_admin_run_under_the_policy_without_violations(
    page,  # noqa: F811
    live_server,
):
    User.objects.filter(username="dana").update(is_staff=True, is_superuser=True)
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

    assert [line for line in page.problems if "Content Security Policy" in line] == []
    assert not [line for line in page.problems if line.startswith("page error")]
