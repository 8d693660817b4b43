"""Settings profiles: base (shared), development, production and test (DJANGO_SETTINGS_MODULE chooses one)."""
