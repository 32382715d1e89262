"""The development settings read DATA_DIR/local.env for every local process."""

from tests.support.processes import project_env, run_manage

PRINT_SETTING = "from django.conf import settings; print(settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS)"


def test_local_env_file_sets_variables(tmp_path):
    (tmp_path / "local.env").write_text("EMAILSYNC_ALLOW_PRIVATE_HOSTS=true\n")
    env = project_env(tmp_path, settings="config.settings.local")
    env.pop("EMAILSYNC_ALLOW_PRIVATE_HOSTS", None)

    result = run_manage(env, "shell", "-c", PRINT_SETTING)

    assert result.stdout.strip().splitlines()[-1] == "True"


def test_environment_wins_over_local_env_file(tmp_path):
    (tmp_path / "local.env").write_text("EMAILSYNC_ALLOW_PRIVATE_HOSTS=true\n")
    env = project_env(tmp_path, settings="config.settings.local", EMAILSYNC_ALLOW_PRIVATE_HOSTS="false")

    result = run_manage(env, "shell", "-c", PRINT_SETTING)

    assert result.stdout.strip().splitlines()[-1] == "False"


def test_test_settings_ignore_local_env_file(tmp_path):
    (tmp_path / "local.env").write_text("EMAILSYNC_TIMEOUT=99\n")
    env = project_env(tmp_path)

    result = run_manage(env, "shell", "-c", "from django.conf import settings; print(settings.EMAILSYNC_TIMEOUT)")

    assert result.stdout.strip().splitlines()[-1] == "10.0"
