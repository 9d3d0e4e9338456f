"""Configuration classes: Development (the default), Testing and Production.

Secrets never live in this file. Development generates its own into the instance folder;
Production takes everything from the environment and refuses to start without it.
"""

from datetime import timedelta

# Values that must never reach production: refused by ProductionConfig.validate().
DEFAULT_SECRETS = frozenset({"", "dev", "change-me", "changeme", "secret", "development"})


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    # hide_parameters: a database error in the log must never carry a value of a case.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}

    # Only a development or test database may be seeded with demo accounts.
    ALLOW_DEMO_SEED = False

    # The ward's clock: times are stored in UTC and shown in this zone.
    TIMEZONE = "Asia/Ho_Chi_Minh"
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    # A leader reads back the details of his report for this many days, then its status only.
    REPORTER_READBACK_DAYS = 30
    # Drafts of reports are deleted this long after they were last saved; a report form
    # can be sent this long after it was opened (its one-time token expires then).
    DRAFT_LIFETIME = timedelta(days=7)
    REPORT_FORM_LIFETIME = timedelta(days=7)
    # Where "Quick exit" leads: a page anyone might have open.
    QUICK_EXIT_URL = "https://www.google.com/search?q=th%E1%BB%9Di+ti%E1%BA%BFt"

    # The legal clocks (DOMAIN.md section 3). "Immediately" for the chairman is taken as
    # within the hour; working days skip Saturdays, Sundays and PUBLIC_HOLIDAYS (dates).
    CLOCK_CHAIRMAN_INFORMED = timedelta(hours=1)
    CLOCK_CONTACT_BAN_DECISION = timedelta(hours=12)
    CONTACT_BAN_LONGEST = timedelta(days=3)
    CLOCK_CHILD_EMERGENCY = timedelta(hours=12)
    CLOCK_CHILD_PLAN_WORKING_DAYS = 5
    CLOCK_TRAFFICKING_VERIFICATION = timedelta(days=3)
    PUBLIC_HOLIDAYS: tuple = ()

    # Counts from 1 to this minus one are shown as "<k" in what is published or shared
    # (the publication export): the statutory report and the desks' own page are exact.
    STATS_EXPORT_THRESHOLD = 10
    # The official report (.docx, Decree 30/2020): to whom it goes (Kính gửi), the copies
    # (Nơi nhận; "Lưu: REPORT_FILED_AS" ends the list), the signature block (for the
    # chairman signing himself: ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")) and the signer's name;
    # the place of the date line (empty: the ward's name without "Phường"/"Xã"). Which
    # provincial body receives the report is the ward's to set (check): "…" marks the gap.
    REPORT_RECIPIENTS: tuple = ("Ủy ban nhân dân tỉnh …",)
    REPORT_COPIES: tuple = (
        "Như trên",
        "TT. Đảng ủy phường",
        "TT. HĐND phường",
        "CT, các PCT UBND phường",
    )
    REPORT_FILED_AS = "VT, VHXH"
    REPORT_SIGNATURE: tuple = ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
    REPORT_SIGNER_NAME = ""
    REPORT_PLACE = ""
    # Which verified cases the publication export counts (GBVIMS: only with the survivor's
    # consent to non-identifying reporting, DOMAIN.md section 4): "consent", or
    # "consent_or_statute" to count also the cases the law passes on without it (signs of
    # a crime, a danger to life now, a child victim). The statutory report counts all.
    STATS_EXPORT_BASIS = "consent"
    # The official reports (stats.periods): the reporting year runs 01/11 to 31/10; the
    # six-month report counts 01/11-30/4 and is due 05/5, the annual report counts
    # 01/11-31/10 and is due 20/11. (month, day) pairs. A report due before its period
    # ends names its "cutoff": it counts to it and estimates to the end (e.g. "first":
    # (1, 1), "cutoff": (6, 14), "last": (6, 30), "due": (6, 20)). The officer's and the
    # chairman's pages remind them this many days before a due date.
    STATS_REPORTS = {
        "half_year": {"first": (11, 1), "last": (4, 30), "due": (5, 5)},
        "annual": {"first": (11, 1), "last": (10, 31), "due": (11, 20)},
    }
    STATS_REMINDER_DAYS = 15
    # Resolution 28/NQ-CP targets (shares, for 2025 and 2030) of the three indicators.
    STATS_TARGETS = {
        "victims_supported": (0.8, 0.9),
        "perpetrators_counselled": (0.5, 0.7),
        "trafficking_supported": (1.0, 1.0),
    }
    # The support services (vocab.SUPPORT_SERVICES codes) that count as "basic" for the
    # first indicator; None: every one of them.
    STATS_BASIC_SERVICES: tuple | None = None

    # Argon2id for login hashes: 64 MiB, 3 passes, 4 lanes (OWASP's second profile).
    ARGON2_MEMORY_KIB = 65536
    ARGON2_ITERATIONS = 3
    ARGON2_LANES = 4

    MAX_CONTENT_LENGTH = 256 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # Flask-WTF's strict mode wants a same-origin Referer on HTTPS posts, but every page
    # sends Referrer-Policy: no-referrer. The token and SameSite cookies do the work.
    WTF_CSRF_SSL_STRICT = False
    # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXY_HOPS = 0
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Server-side sessions end 15 minutes after the last request, and 8 hours after sign-in.
    SESSION_IDLE_TIMEOUT = timedelta(minutes=15)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    # Explicit: the limiter object is shared, so no app may inherit another's setting.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    # Sign-in attempts from one address (a ward office shares one), and attempts on one
    # account from anywhere: a guesser is slowed without locking anyone else out.
    LOGIN_RATE_LIMIT = "30 per minute"
    LOGIN_ACCOUNT_RATE_LIMIT = "5 per minute;30 per hour"
    # A browser signed in with keeps its own allowance on that account this long.
    KNOWN_DEVICE_LIFETIME = timedelta(days=90)
    KNOWN_DEVICE_COOKIE_NAME = "known_device"

    # Exports, seat grants and security settings need a password (and code) this recent.
    REAUTH_WINDOW = timedelta(minutes=5)
    # How long an administrator's activation code works, and the warning before idle sign-out.
    ACTIVATION_CODE_LIFETIME = timedelta(hours=72)
    SESSION_WARNING = timedelta(minutes=2)
    # The name the authenticator app shows: neutral, like the page titles.
    TOTP_ISSUER = "Dich vu phuong"

    LOG_TO_INSTANCE = True

    # The pins of the wards' recovery keys (incidents/wards/trust.py), never in the
    # database: "QT=<pin>,XY=<pin>" from the environment, on top of the file
    # RECOVERY_KEY_PINS_FILE (default: the instance folder's recovery_key_pins, mode 0600),
    # to which 'ward create' adds each new ward.
    RECOVERY_KEY_PINS = ""
    RECOVERY_KEY_PINS_FILE = ""

    # Notices by e-mail ('flask notices send' from cron): off while MAIL_SERVER is empty.
    # MAIL_USE_TLS is STARTTLS on MAIL_PORT; MAIL_TIMEOUT (seconds) bounds every wait on
    # the server. PUBLIC_BASE_URL is the site's address, for the link in the message.
    MAIL_SERVER = ""
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_SENDER = ""
    MAIL_TIMEOUT = 10
    PUBLIC_BASE_URL = ""
    # A message that fails is tried again after 1, 2, 4 ... minutes (at most an hour
    # apart), and given up after this many attempts.
    MAIL_MAX_ATTEMPTS = 8
    MAIL_RETRY_DELAY = timedelta(minutes=1)

    # Config key -> environment variable, read when the app is created (not at import).
    ENVIRONMENT_KEYS = {
        "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
        "RATELIMIT_STORAGE_URI": "REDIS_URL",
        "TRUSTED_PROXY_HOPS": "TRUSTED_PROXY_HOPS",
        "MAIL_SERVER": "MAIL_SERVER",
        "MAIL_PORT": "MAIL_PORT",
        "MAIL_USE_TLS": "MAIL_USE_TLS",
        "MAIL_USERNAME": "MAIL_USERNAME",
        "MAIL_PASSWORD": "MAIL_PASSWORD",
        "MAIL_SENDER": "MAIL_SENDER",
        "MAIL_TIMEOUT": "MAIL_TIMEOUT",
        "PUBLIC_BASE_URL": "PUBLIC_BASE_URL",
        "RECOVERY_KEY_PINS": "RECOVERY_KEY_PINS",
        "RECOVERY_KEY_PINS_FILE": "RECOVERY_KEY_PINS_FILE",
    }

    @classmethod
    def validate(cls, config: dict) -> None:
        """Raise RuntimeError when the loaded configuration is unsafe to run."""

    @classmethod
    def load_environment(cls, config: dict, environ: dict) -> None:
        """Copy the settings this environment takes from environment variables."""
        for key, variable in cls.ENVIRONMENT_KEYS.items():
            if environ.get(variable):
                config[key] = environ[variable]


class DevelopmentConfig(Config):
    """One ward on one machine: SQLite in the instance folder, generated secrets."""

    ENV_NAME = "development"
    ALLOW_DEMO_SEED = True


class TestingConfig(Config):
    """The test suite: a database named by TEST_DATABASE_URL or a SQLite file per run."""

    ENV_NAME = "testing"
    TESTING = True
    ALLOW_DEMO_SEED = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    ENVIRONMENT_KEYS = {"SQLALCHEMY_DATABASE_URI": "TEST_DATABASE_URL"}
    # Cheap hashes keep the suite fast; the production parameters are tested separately.
    ARGON2_MEMORY_KIB = 1024
    ARGON2_ITERATIONS = 1
    ARGON2_LANES = 1
    SECRET_KEY = "testing-only-secret-key"  # noqa: S105 (refused by ProductionConfig)


class ProductionConfig(Config):
    """Everything from the environment; refuses to start on a missing or default secret."""

    ENV_NAME = "production"
    REQUIRED_KEYS = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI")
    ENVIRONMENT_KEYS = {
        **Config.ENVIRONMENT_KEYS,
        "SECRET_KEY": "SECRET_KEY",
    }
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    KNOWN_DEVICE_COOKIE_NAME = "__Host-known_device"
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse to start without every required key, or with a default or short secret."""
        missing = [key for key in cls.REQUIRED_KEYS if not config.get(key)]
        if missing:
            raise RuntimeError("production configuration is missing: " + ", ".join(missing))
        secret = config["SECRET_KEY"]
        if secret.lower() in DEFAULT_SECRETS or secret == TestingConfig.SECRET_KEY:
            raise RuntimeError("production refuses a default SECRET_KEY")
        if len(secret) < 32 or len(set(secret)) < 16:
            raise RuntimeError("production SECRET_KEY must be at least 32 random characters")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
