"""API tokens end to end: created by the command, sent over HTTP to a running server."""

import hashlib
import io

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management import call_command

from artifacts_app.models import ApiToken
from tests.factories import grant

pytestmark = pytest.mark.django_db(transaction=True)


def create_token(username, name=""):
    out, err = io.StringIO(), io.StringIO()
    args = ["api_token", "create", username] + (["--name", name] if name else [])
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip()


def get(live_server, path, token=None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(
        f"{live_server.url}{path}", headers=headers, allow_redirects=False, timeout=10
    )


@pytest.fixture
def dana():
    return grant(User.objects.create_user("dana", password="a-long-test-password"))


def test_a_token_opens_the_json_api_and_the_csv(live_server, dana):
    token = create_token("dana", name="ci")
    stats = get(live_server, "/api/v1/stats", token)
    assert stats.status_code == 200
    assert stats.json()["totals"] == {"count": 0, "bytes": 0}
    assert get(live_server, "/api/v1/artifacts", token).json()["count"] == 0
    assert get(live_server, "/api/v1/runs", token).status_code == 200
    csv = get(live_server, "/export.csv", token)
    assert csv.status_code == 200
    assert csv.text.startswith("id,file_name,")


def test_a_token_never_opens_a_page_or_the_admin(live_server, dana):
    dana.is_staff = dana.is_superuser = True
    dana.save()
    token = create_token("dana")
    for path in ("/", "/admin/", "/admin/artifacts_app/apitoken/"):
        response = get(live_server, path, token)
        assert response.status_code == 302, path
        assert "/login/" in response.headers["Location"], path


def test_anonymous_api_requests_get_401_json_not_the_login_page(live_server, dana):
    for path in ("/api/v1/stats", "/api/v1/artifacts", "/api/v1/runs", "/export.csv"):
        response = get(live_server, path)
        assert response.status_code == 401, path
        assert response.headers["Content-Type"] == "application/json"
        assert "api_token create" in response.json()["error"]


def test_a_wrong_or_revoked_token_gets_401(live_server, dana):
    token = create_token("dana", name="laptop")
    wrong = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    assert get(live_server, "/api/v1/stats", wrong).status_code == 401
    assert get(live_server, "/api/v1/stats", "not-even-a-token").status_code == 401

    call_command("api_token", "revoke", "laptop", stdout=io.StringIO())
    response = get(live_server, "/api/v1/stats", token)
    assert response.status_code == 401
    assert "not valid" in response.json()["error"]


def test_the_token_of_a_deactivated_user_stops_working(live_server, dana):
    token = create_token("dana")
    assert get(live_server, "/api/v1/stats", token).status_code == 200
    dana.is_active = False
    dana.save()
    assert get(live_server, "/api/v1/stats", token).status_code == 401


def test_a_session_still_works_beside_a_proxys_basic_auth_header(live_server, dana):
    session = requests.Session()
    login_page = session.get(f"{live_server.url}/accounts/login/", timeout=10)
    assert login_page.status_code == 200
    session.post(
        f"{live_server.url}/accounts/login/",
        data={
            "username": "dana",
            "password": "a-long-test-password",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
    )
    response = session.get(
        f"{live_server.url}/api/v1/stats",
        headers={"Authorization": "Basic cHJveHk6cGFzcw=="},
        timeout=10,
    )
    assert response.status_code == 200


def test_only_a_hash_of_the_token_is_stored_and_use_is_recorded(live_server, dana):
    token = create_token("dana", name="ci")
    row = ApiToken.objects.get()
    stored = " ".join(str(value) for value in ApiToken.objects.values_list().get())
    assert token not in stored
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.last_used_at is None
    get(live_server, "/api/v1/stats", token)
    row.refresh_from_db()
    assert row.last_used_at is not None
