"""Create, list and revoke API tokens: python manage.py api_token create|list|revoke."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from artifacts_app.models import ApiToken
from artifacts_app.tokens import TokenError, create_token, revoke_token


class Command(BaseCommand):
    help = (
        "API tokens for scripts and CI: sent as 'Authorization: Bearer <token>' they act as "
        "their user on /api/v1/* and /export.csv. Only a hash is stored."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="make a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="", metavar="LABEL", help="what the token is for")
        listing = actions.add_parser("list", help="list tokens (never the tokens themselves)")
        listing.add_argument("username", nargs="?")
        revoke = actions.add_parser("revoke", help="delete a token")
        revoke.add_argument("token", metavar="TOKEN_PREFIX_OR_LABEL")

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_create(self, username, name, **options):
        user = self._user(username)
        row, token = create_token(user, name=name.strip())
        self.stdout.write(token)
        self.stderr.write(
            f"Token {row.prefix} for {user.username} created. It is shown only this once: "
            "keep it in your CI's secret store."
        )

    def handle_list(self, username=None, **options):
        rows = ApiToken.objects.select_related("user")
        if username:
            rows = rows.filter(user=self._user(username))
        rows = list(rows)
        for row in rows:
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            self.stdout.write(
                f"{row.prefix}  {row.user.username}  {row.name or '-'}  "
                f"created {row.created_at:%Y-%m-%d %H:%M}  last used {used}"
            )
        self.stderr.write(f"{len(rows)} token(s).")

    def handle_revoke(self, token, **options):
        try:
            row = revoke_token(token)
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Revoked {row.prefix} ({row.name or 'no label'}) of {row.user.username}."
        )

    def _user(self, username):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(
                f"no user {username!r}; create one with `manage.py createsuperuser` or the admin"
            ) from None
