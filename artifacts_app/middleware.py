"""Authentication of the machine-readable endpoints: `/api/v1/*` and `/export.csv`.

Those answer `401 {"error": ...}` where a page would redirect to the login, and accept
`Authorization: Bearer <API token>` as well as a session. Other schemes (a proxy's Basic
auth) are left alone. Everywhere else the header is ignored, so a token never opens an HTML
page or the admin.
"""

from django.http import JsonResponse

from .tokens import user_for_token

API_PREFIXES = ("/api/v1/", "/export.csv")


class ApiAuthenticationMiddleware:
    """Sits after AuthenticationMiddleware and before LoginRequiredMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIXES):
            return self.get_response(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            user = user_for_token(token.strip())
            if user is None:
                return _unauthorized("the API token is not valid: revoked or mistyped")
            request.user = user
            # A browser never sends a bearer token on its own: there is no CSRF to guard against.
            request._dont_enforce_csrf_checks = True
        elif not request.user.is_authenticated:
            return _unauthorized(
                "log in, or send Authorization: Bearer <token> (manage.py api_token create)"
            )
        return self.get_response(request)


def _unauthorized(message):
    response = JsonResponse({"error": message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
