"""The relational store: engine and sessions (db), models, Alembic migrations (migrations/)."""
