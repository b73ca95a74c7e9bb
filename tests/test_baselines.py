from django.test import TestCase

from artifacts_app.baselines import (
    baseline_for,
    destination_baseline_for,
    with_baseline_ids,
    with_baselines,
)
from artifacts_app.models import CiBuildRun
from tests.factories import make_build_run, make_workflow


class BaselineTests(TestCase):
    def setUp(self):
        self.workflow = make_workflow()

    def run_(self, number, progress="COMPLETE", status="SUCCEEDED", **fields):
        return make_build_run(
            self.workflow,
            number=number,
            execution_progress=progress,
            completion_status=status,
            **fields,
        )

    def test_the_baseline_skips_canceled_failed_and_unfinished_runs(self):
        good = self.run_(10)
        self.run_(11, status="CANCELED")
        self.run_(12, status="FAILED")
        self.run_(13, progress="RUNNING", status="")
        self.run_(14, status="ERRORED")
        latest = self.run_(15)
        self.assertEqual(baseline_for(latest), good)

    def test_the_baseline_is_of_the_same_workflow_and_a_lower_number(self):
        mine = self.run_(5)
        make_build_run(make_workflow(product=self.workflow.product), number=6)  # another workflow
        later = self.run_(9)  # created earlier than #7, but its number is higher
        run = self.run_(7)
        self.assertEqual(baseline_for(run), mine)
        self.assertEqual(baseline_for(later), run)
        self.assertIsNone(baseline_for(mine))

    def test_the_set_based_helper_agrees_with_the_single_run_rule(self):
        for number, status in enumerate(["SUCCEEDED", "FAILED", "SUCCEEDED", "CANCELED", ""], 1):
            self.run_(number, status=status, progress="COMPLETE" if status else "PENDING")
        annotated = with_baselines(CiBuildRun.objects.all())
        with self.assertNumQueries(1):
            found = {run.number: run.baseline_number for run in annotated}
        expected = {
            run.number: getattr(baseline_for(run), "number", None)
            for run in CiBuildRun.objects.all()
        }
        self.assertEqual(found, expected)
        self.assertEqual(found, {1: None, 2: 1, 3: 1, 4: 3, 5: 3})
        ids = dict(with_baseline_ids(CiBuildRun.objects.all()).values_list("number", "baseline_id"))
        numbers = dict(CiBuildRun.objects.values_list("pk", "number"))
        self.assertEqual({n: numbers.get(pk) for n, pk in ids.items()}, expected)


class DestinationBaselineTests(TestCase):
    def test_a_pull_request_run_is_compared_with_its_destination_branchs_newest_success(self):
        workflow = make_workflow()
        main = make_build_run(workflow, number=1, source_ref_name="main")
        make_build_run(workflow, number=2, source_ref_name="main", completion_status="FAILED")
        make_build_run(workflow, number=3, source_ref_name="feature/other")
        make_build_run(
            workflow,
            number=4,
            source_ref_name="main",
            is_pull_request_build=True,
            destination_branch_name="release",
        )
        pull_request = make_build_run(
            workflow,
            number=5,
            source_ref_name="feature/assets",
            is_pull_request_build=True,
            destination_branch_name="main",
        )
        self.assertEqual(destination_baseline_for(pull_request), main)
        self.assertEqual(baseline_for(pull_request).number, 4)
        self.assertIsNone(destination_baseline_for(main))
