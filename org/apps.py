from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        # Registers the project-wide deploy check for the production secrets.
        from django.contrib.auth.signals import user_logged_in

        import learning_portal.startup  # noqa: F401
        from org.middleware import mark_session_refreshed

        # A new login is a fresh session: the idle middleware need not save it again soon.
        user_logged_in.connect(mark_session_refreshed, dispatch_uid="org.mark_session_refreshed")
