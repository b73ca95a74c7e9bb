import re

from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse

from artifacts_app.models import ApiToken
from artifacts_app.tokens import create_token, user_for_token


class MyTokensPageTests(TestCase):
    def setUp(self):
        self.dana = User.objects.create_user("dana")
        self.client.force_login(self.dana)

    def test_a_token_made_on_the_page_is_shown_once_and_works(self):
        response = self.client.post(reverse("my-tokens"), {"name": "release CI"})
        token = re.search(
            r'<code class="token" id="new-token">([^<]+)</code>', response.content.decode()
        )[1]
        self.assertEqual(user_for_token(token), self.dana)
        self.assertEqual(response["Cache-Control"], "no-store")
        again = self.client.get(reverse("my-tokens")).content.decode()
        self.assertNotIn(token, again)
        self.assertIn(token[:12], again)
        self.assertIn("release CI", again)

    def test_only_ones_own_tokens_are_listed_and_revocable(self):
        mine, _ = create_token(self.dana, name="mine")
        theirs, _ = create_token(User.objects.create_user("lee"), name="theirs")
        page = self.client.get(reverse("my-tokens")).content.decode()
        self.assertIn(mine.prefix, page)
        self.assertNotIn(theirs.prefix, page)
        response = self.client.post(reverse("revoke-my-token", args=[theirs.pk]))
        self.assertEqual(response.status_code, 404)
        self.assertTrue(ApiToken.objects.filter(pk=theirs.pk).exists())
        response = self.client.post(reverse("revoke-my-token", args=[mine.pk]), follow=True)
        self.assertContains(response, f"Token {mine.prefix} revoked.")
        self.assertFalse(ApiToken.objects.filter(pk=mine.pk).exists())
