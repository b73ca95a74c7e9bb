"""`manage.py run_dashboard`: what `make run` does after installing (thin wiring over demo.py).

Migrates, collects static files, makes sure a login exists and prints it, fetches data (one
sync pass from Apple when a key is configured, otherwise from the bundled simulator, which
keeps running so archive downloads work, and whose builds then keep arriving through the
webhook, ten times faster than real time) and serves the dashboard.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from artifacts_app import demo
from artifacts_app.connection import any_key_configured


class Command(BaseCommand):
    help = "Prepare the database, fetch artifacts (or demo data) and serve the dashboard."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-sync", action="store_true", help="Serve what the database holds without syncing."
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare and sync, then exit (for checks)."
        )
        parser.add_argument(
            "--demo-runs",
            type=int,
            default=500,
            help="Build runs the demo simulator makes up when no key is configured.",
        )
        parser.add_argument(
            "--demo-speed",
            type=float,
            default=10.0,
            help="How many times faster than real time demo builds are created, started and "
            "completed (announced by webhooks as they go); 0 freezes them.",
        )

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        login = demo.ensure_login()

        simulator = None
        configured = any_key_configured()
        if not configured:
            try:
                simulator = demo.start_simulator(runs=options["demo_runs"])
            except (OSError, ValueError, ImportError) as exc:
                self.stderr.write(f"Could not start the simulator ({exc}); serving without data.")
            else:
                self.stdout.write(
                    f"No App Store Connect key configured: demo data from {simulator.base_url}"
                )
        if not options["no_sync"] and (simulator is not None or configured):
            self._sync()

        address = f"http://{options['host']}:{options['port']}/"
        if login.password:
            self.stdout.write(f"Log in at {address} as {login.username} / {login.password}")
        else:
            self.stdout.write(
                f"Log in at {address} as {login.username} with its existing password "
                f"(manage.py changepassword {login.username} to set a new one)"
            )
        clock = None
        if simulator is not None and options["demo_speed"] > 0 and not options["no_serve"]:
            clock = demo.start_live_builds(simulator, address, options["demo_speed"])
            self.stdout.write("Demo builds arrive live through the webhook as the clock runs")
        try:
            if not options["no_serve"]:
                call_command(
                    "runserver",
                    f"{options['host']}:{options['port']}",
                    use_reloader=False,
                    # WhiteNoise serves the collected, hashed files, as in production.
                    use_static_handler=False,
                )
        finally:
            if clock is not None:
                clock.set()
            if simulator is not None:
                simulator.stop()

    def _sync(self):
        try:
            call_command("sync_artifacts", stdout=self.stdout, stderr=self.stderr)
        except CommandError as exc:
            # The dashboard still serves what earlier passes stored.
            self.stderr.write(f"{exc} — serving the data already stored.")
