from django.contrib.auth.models import User
from django.test import TestCase


class NotFoundPageTests(TestCase):
    def test_a_missing_page_is_the_sites_own_404_page(self):
        self.client.force_login(User.objects.create_user("dana"))
        response = self.client.get("/runs/no-such-run/")
        self.assertEqual(response.status_code, 404)
        self.assertTemplateUsed(response, "404.html")
        self.assertContains(response, "<h1>Page not found</h1>", status_code=404, html=False)
        self.assertContains(response, "/static/css/app.css", status_code=404)
        self.assertContains(response, "Back to the dashboard", status_code=404)

    def test_the_404_page_escapes_the_path_it_names(self):
        response = self.client.get("/<script>alert(1)</script>")
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(b"<script>alert", response.content)
        self.assertIn(b"&lt;script&gt;alert(1)&lt;/script&gt;", response.content)

    def test_an_unknown_api_path_is_a_json_404(self):
        self.client.force_login(User.objects.create_user("dana"))
        response = self.client.get("/api/v1/no-such-endpoint")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json(), {"error": "no such resource: /api/v1/no-such-endpoint"})


class FaviconTests(TestCase):
    def test_favicon_is_served_to_anyone_as_an_icon(self):
        response = self.client.get("/favicon.ico", follow=True)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.redirect_chain[0][0], "/static/favicon.ico")
        self.assertEqual(response["Content-Type"], "image/x-icon")
        icon = b"".join(response.streaming_content)
        self.assertEqual(icon[:4], b"\x00\x00\x01\x00")  # an ICO header
