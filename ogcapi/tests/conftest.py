from layers.tests.conftest import access_scenario, scenario_user  # noqa: F401 — shared fixtures
