import io

from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import TestCase

from artifacts_app.models import ApiToken
from artifacts_app.tokens import user_for_token


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


class ApiTokenCommandTests(TestCase):
    def setUp(self):
        self.dana = User.objects.create_user("dana")
        self.lee = User.objects.create_user("lee")

    def test_create_prints_the_token_once_and_it_acts_as_its_user(self):
        out, err = run("create", "dana", "--name", "release CI")
        token = out.strip()
        self.assertEqual(user_for_token(token), self.dana)
        self.assertIn("only this once", err)
        self.assertNotIn(token, err)

    def test_list_shows_prefixes_and_labels_never_the_tokens(self):
        dana_token = run("create", "dana", "--name", "release CI")[0].strip()
        lee_token = run("create", "lee")[0].strip()
        out, err = run("list")
        self.assertIn(dana_token[:12], out)
        self.assertIn("release CI", out)
        self.assertNotIn(dana_token, out)
        self.assertNotIn(lee_token, out)
        self.assertIn("2 token(s)", err)
        only_lee, _ = run("list", "lee")
        self.assertIn(lee_token[:12], only_lee)
        self.assertNotIn(dana_token[:12], only_lee)

    def test_revoke_by_prefix_by_label_or_by_the_token(self):
        tokens = [run("create", "dana", "--name", f"job {i}")[0].strip() for i in range(3)]
        run("revoke", tokens[0][:12])
        run("revoke", "job 1")
        run("revoke", tokens[2])
        self.assertFalse(ApiToken.objects.exists())
        self.assertTrue(all(user_for_token(token) is None for token in tokens))

    def test_revoking_an_ambiguous_label_changes_nothing_and_says_why(self):
        run("create", "dana", "--name", "ci")
        run("create", "lee", "--name", "ci")
        with self.assertRaisesMessage(CommandError, "2 tokens match 'ci'"):
            run("revoke", "ci")
        self.assertEqual(ApiToken.objects.count(), 2)

    def test_unknown_user_or_token_is_a_one_line_error(self):
        with self.assertRaisesMessage(CommandError, "no user 'nobody'"):
            run("create", "nobody")
        with self.assertRaisesMessage(CommandError, "api_token list"):
            run("revoke", "xcd_missing0")
