from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # The three roles are created (and their permissions kept in step)
        # after every migrate, once every app's permissions exist.
        from django.db.models.signals import post_migrate

        from voiceops.roles import roles_sync_after_migrate

        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="voiceops.roles.sync")
