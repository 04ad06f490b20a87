"""Connecting tortoise to the database named by a URL (`sqlite://…` or `postgres://…`)."""

from tortoise import Tortoise

APP_LABEL = "portal"


def tortoise_config(database_url: str) -> dict:
    """The tortoise configuration for our one app, its models and its migrations."""
    return {
        "connections": {"default": database_url},
        "apps": {
            APP_LABEL: {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite:")


async def connect(database_url: str) -> None:
    """Open the connection for this process; every task of the process shares it."""
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()
