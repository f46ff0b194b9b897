from servicekit import config


def test_environment_overrides_nested_keys_and_parses_scalars():
    loaded = config.load(environ={
        "TOWNHALL_AMQP_URI": "amqp://u:p@h:5672/v",
        "TOWNHALL_GATEWAY__PORT": "9001",
        "TOWNHALL_CONSUMERS__RETRY_DELAYS_SECONDS": "[0.1, 0.2]",
        "TOWNHALL_DATABASES__CREDITS": "postgresql://pg/credits",
        "UNRELATED": "x",
    })
    assert loaded["AMQP_URI"] == "amqp://u:p@h:5672/v"
    assert loaded["gateway"]["port"] == 9001
    assert loaded["gateway"]["host"] == "127.0.0.1"  # untouched keys stay
    assert loaded["consumers"]["retry_delays_seconds"] == [0.1, 0.2]
    assert config.database_url(loaded, "credits") == "postgresql+psycopg2://pg/credits"


def test_each_service_gets_its_own_sqlite_file_by_default(tmp_path):
    loaded = config.load(environ={"TOWNHALL_DATA_DIR": str(tmp_path)})
    assert config.database_url(loaded, "messaging") == f"sqlite:///{tmp_path}/messaging.sqlite3"
    assert config.database_url(loaded, "credits") != config.database_url(loaded, "messaging")


def test_a_url_template_names_one_database_per_service():
    loaded = config.load(environ={
        "TOWNHALL_DATABASE_URL": "postgresql://pg:5432/townhall_{service}"})
    assert config.database_url(loaded, "reports").endswith("/townhall_reports")


def test_real_twilio_credentials_alone_switch_away_from_the_sandbox():
    sandbox = config.load(environ={})
    assert config.twilio_base_url(sandbox) == "http://127.0.0.1:8010"
    assert config.uses_twilio_sandbox(sandbox)
    real = config.load(environ={"TOWNHALL_TWILIO__ACCOUNT_SID": "AC" + "1" * 32,
                                "TOWNHALL_TWILIO__AUTH_TOKEN": "secret"})
    assert config.twilio_base_url(real) == "https://api.twilio.com"
    assert not config.uses_twilio_sandbox(real)
    pinned = config.load(environ={"TOWNHALL_TWILIO__BASE_URL": "http://127.0.0.2:9000/"})
    assert config.twilio_base_url(pinned) == "http://127.0.0.2:9000"


def test_a_service_may_have_its_own_worker_pool():
    from servicekit.runner import nameko_config

    config = {"max_workers": 10, "messaging": {"max_workers": 30}}
    assert nameko_config(config, "messaging")["max_workers"] == 30
    assert nameko_config(config, "credits")["max_workers"] == 10
    assert nameko_config({}, "credits")["max_workers"] == 10
