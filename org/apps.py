from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        # Registers the project-wide deploy check for the production secrets.
        import learning_portal.startup  # noqa: F401
