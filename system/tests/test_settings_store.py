"""The defaults of the platform settings are written once, in system/settings_store.py; the migrations that
stored them are history and must agree with it."""

from system.models import SystemSetting
from system.settings_store import KNOWN, setting


def test_a_migrated_database_holds_every_setting_at_the_codes_default(db):
    """Admins see and change each setting the code reads; a new or changed default needs a migration that
    writes it (a stored value wins over the default)."""
    stored = {
        row.setting_key: (row.typed_value(), row.value_type, row.description)
        for row in SystemSetting.objects.filter(setting_key__in=KNOWN)
    }
    assert stored == {key: (known.default, known.value_type, known.help) for key, known in KNOWN.items()}


def test_an_unset_setting_reads_as_its_default(db):
    SystemSetting.objects.filter(setting_key__in=KNOWN).delete()
    assert {key: setting(key) for key in KNOWN} == {key: known.default for key, known in KNOWN.items()}
