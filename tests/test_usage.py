"""Estimated compute usage: /api/v1/usage, the monthly chart against the plan, the burn rate."""

from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict

from artifacts_app.forms import FilterForm
from artifacts_app.usage import burn_rate

from .factories import (
    grant,
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
    reader,
)

pytestmark = pytest.mark.django_db


def at(day, hour=12, month=11):
    return datetime(2026, month, day, hour, tzinfo=UTC)


def action(run, minutes, started=None, **fields):
    started = started or run.created_date + timedelta(minutes=1)
    fields.setdefault("execution_progress", "COMPLETE")
    return make_build_action(
        run, started_date=started, finished_date=started + timedelta(minutes=minutes), **fields
    )


@pytest.fixture
def user_client(client, django_user_model):
    client.force_login(grant(django_user_model.objects.create_user("dev")))
    return client


class UsageApiTests:
    def test_sums_finished_actions_per_month_and_workflow(self, user_client):
        product = make_product(name="Shop")
        nightly, release = (
            make_workflow(product, name="Nightly"),
            make_workflow(product, name="Release"),
        )
        first = make_build_run(nightly, created_date=at(3))
        action(first, 30)
        action(first, 15)
        action(make_build_run(nightly, created_date=at(20)), 45)
        action(make_build_run(release, created_date=at(5)), 90)
        action(make_build_run(release, created_date=at(5, month=10)), 10)

        response = user_client.get(
            "/api/v1/usage?start=2026-10-01&end=2026-11-30&granularity=month"
        )

        assert response.status_code == 200
        series = response.json()["series"]
        assert [
            (r["period"], r["workflow"]["name"], r["runs"], r["compute_minutes"]) for r in series
        ] == [
            ("2026-10-01", "Release", 1, 10.0),
            ("2026-11-01", "Nightly", 2, 90.0),
            ("2026-11-01", "Release", 1, 90.0),
        ]
        assert series[1]["workflow"]["id"] == nightly.asc_id
        assert "estimate" in response.json()["estimate"].lower()

    def test_unfinished_and_undated_actions_do_not_count(self, user_client):
        run = make_build_run(created_date=at(3))
        action(run, 20)
        action(run, 60, execution_progress="RUNNING")
        make_build_action(run, execution_progress="COMPLETE")  # skipped: never started

        series = user_client.get("/api/v1/usage?start=2026-11-01&end=2026-11-30").json()["series"]

        assert [(r["runs"], r["compute_minutes"]) for r in series] == [(1, 20.0)]

    def test_takes_the_filters_of_the_stats_endpoint(self, user_client):
        wanted, other = make_workflow(name="Wanted"), make_workflow(name="Other")
        archive_run = make_build_run(wanted, created_date=at(3))
        make_artifact(action(archive_run, 25, name="Archive"), file_type="ARCHIVE")
        make_artifact(action(archive_run, 5, name="Test"), file_type="TEST_PRODUCTS")
        action(make_build_run(other, created_date=at(3)), 99)
        base = "/api/v1/usage?start=2026-11-01&end=2026-11-30"

        by_workflow = user_client.get(f"{base}&workflow={wanted.asc_id}").json()["series"]
        by_type = user_client.get(f"{base}&file_type=ARCHIVE").json()["series"]
        daily = user_client.get(f"{base}&granularity=day&workflow={wanted.asc_id}").json()

        assert [r["compute_minutes"] for r in by_workflow] == [30.0]
        assert [r["compute_minutes"] for r in by_type] == [25.0]
        assert [r["period"] for r in daily["series"]] == ["2026-11-03"]

    def test_a_bad_parameter_is_a_400_naming_it(self, user_client):
        response = user_client.get("/api/v1/usage?granularity=year")

        assert response.status_code == 400
        assert response.json()["error"].startswith("granularity:")

    def test_needs_a_login(self, client):
        assert client.get("/api/v1/usage").status_code in (302, 401)


class BurnRateTests:
    def test_projects_the_month_from_its_pace_and_says_when_the_plan_runs_out(self):
        for day in (1, 2, 3, 4):
            action(make_build_run(created_date=at(day, hour=1)), 5 * 60)  # 5 hours a day
        now = at(5, hour=0)  # four days gone
        f = FilterForm(QueryDict(""), user=reader(), today=now.date()).scope

        burn = burn_rate(f, plan_hours=100, now=now)

        assert burn["used_hours"] == 20.0
        assert burn["per_day_hours"] == 5.0
        assert burn["projected_hours"] == 150.0  # 30 days of November
        assert burn["runs_out_on"] == "2026-11-21"  # 100 h at 5 h a day: 20 days in

    def test_a_pace_within_the_plan_never_runs_out(self):
        action(make_build_run(created_date=at(1, hour=1)), 60)
        now = at(15)
        f = FilterForm(QueryDict(""), user=reader(), today=now.date()).scope

        assert burn_rate(f, plan_hours=25, now=now)["runs_out_on"] is None


class UsagePageTests:
    def test_says_it_is_an_estimate_and_draws_hours_against_the_plan(self, user_client, settings):
        settings.USAGE_PLAN_HOURS = 250
        run = make_build_run(make_workflow(name="<Nightly>"), created_date=datetime.now(UTC))
        action(run, 90)

        response = user_client.get("/usage/")

        page = response.content.decode()
        assert response.status_code == 200
        assert "estimate" in page.lower() and "finish minus start" in page
        assert "250-hour plan" in page
        assert "&lt;Nightly&gt;" in page and "<Nightly>" not in page.split("chart-data")[0]
        assert "1.5 h" in page
        assert 'src="/static/js/usage.js"' in page
