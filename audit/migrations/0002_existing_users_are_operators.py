"""Roles arrive: every account that already existed could do everything, so it keeps operating.

Superusers are admins without a group. Everyone else with no role yet joins
`operator` (the group's permissions are set by voiceops.roles after migrate).
New accounts get no role until someone gives them one.
"""

from django.db import migrations


def existing_users_to_operator(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    operator, _ = Group.objects.get_or_create(name="operator")
    users = User.objects.filter(is_superuser=False).exclude(groups__name__in=["admin", "operator", "viewer"])
    operator.user_set.add(*users)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(existing_users_to_operator, migrations.RunPython.noop)]
