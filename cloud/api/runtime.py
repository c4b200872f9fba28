"""What the app's lifespan builds and the dependencies read."""

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.api.config import ApiConfig
from cloud.api.feed import AlertFeed
from cloud.rules.config import RulesConfig
from cloud.settings import Settings


@dataclass
class Runtime:
    """One engine and its session factory, the settings, the API's policy and the live alert feed."""

    engine: Engine
    sessions: sessionmaker[Session]
    settings: Settings
    config: ApiConfig
    feed: AlertFeed
    rules: RulesConfig  # the deployment's (ELDERCARE_RULES_FILE), the same the worker judges with
