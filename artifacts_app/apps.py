from django.apps import AppConfig


class ArtifactsAppConfig(AppConfig):
    name = "artifacts_app"
    verbose_name = "Xcode Cloud artifacts"

    def ready(self):
        from . import checks  # noqa: F401  (registers system checks)
