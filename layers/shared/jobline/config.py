"""Configuration, parsed once from the environment into a pydantic model."""

from __future__ import annotations

import enum
import functools

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreKind(enum.StrEnum):
    DYNAMODB = "dynamodb"
    REDIS = "redis"
    MEMORY = "memory"


class Settings(BaseSettings):
    """Every knob Jobline reads from the environment (names are the upper-cased fields)."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    jobline_store: StoreKind = StoreKind.DYNAMODB
    jobline_table: str = "jobline-jobs"
    jobline_redis_url: str = "redis://127.0.0.1:6379/0"
    jobline_redis_prefix: str = "jobline:"
    # SQS queue names are `<prefix><queue>` and `<prefix><queue>-dlq`.
    jobline_queue_prefix: str = "jobline-"
    jobline_bucket: str = "jobline-payloads"
    jobline_stage: str = "dev"
    # Payloads larger than this go to S3 (SQS allows 256 KB; the record must stay small).
    jobline_max_inline_payload_bytes: int = Field(default=200 * 1024, gt=0)
    # Recurring schedules one tenant may keep (the tick reads every schedule each minute, so one
    # tenant's thousands would slow every tenant's runs); one more is refused with a 422.
    jobline_max_schedules_per_tenant: int = Field(default=100, gt=0)
    # The largest file a presigned bulk upload accepts: S3 refuses a bigger one (content-length-range).
    # At most what the upload job reads (256 MiB, `domains.bulk.sources.MAX_UPLOAD_BYTES`).
    jobline_max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0, le=256 * 1024 * 1024)
    # Lifecycle events (job completed/failed) go to this EventBridge bus; empty turns them off.
    jobline_event_bus: str = "default"
    # The SSM SecureString holding the master secret each tenant's webhook signing key is derived
    # from (engine/callbacks.py); without it no callback is sent. Never the secret itself: a
    # function's environment is readable by anyone who can read its configuration.
    jobline_webhook_secret_parameter: str = ""
    # Callbacks to loopback and private addresses are refused (SSRF), except where this is set
    # (the local stack and tests, whose receivers live on 127.0.0.1).
    jobline_callbacks_allow_private: bool = False
    # The verified SES identity every e-mail is sent from.
    jobline_email_sender: str = "noreply@jobline.local"
    # Each tenant's recipients per UTC day and channel, counted when a job is added (a job that does
    # not fit whole is refused with a 429); 0 stops the channel for every tenant.
    jobline_email_daily_quota: int = Field(default=10_000, ge=0)
    jobline_sms_daily_quota: int = Field(default=1_000, ge=0)
    # The Amazon Bedrock model the `ai` queue's jobs call (a model id or an inference profile id).
    jobline_bedrock_model_id: str = "anthropic.claude-3-haiku-20240307-v1:0"
    # The public site the sitemap job lists pages of: `<url>/<tenant>/…` unless a job gives its own.
    jobline_site_url: str = "https://www.jobline.local"
    # The plain database URL, for development only: a deployed stage names an SSM parameter instead.
    database_url: str = "postgresql+pg8000://postgres@127.0.0.1:5432/jobline"
    # The SSM SecureString holding the database URL; when set, DATABASE_URL is not read, so the
    # credentials never sit in a function's environment (visible to anyone who can read its config).
    jobline_database_url_parameter: str | None = None
    # RDS Proxy (or RDS) with IAM authentication: every new connection's password is a fresh
    # 15-minute token for the URL's user, and TLS is required; the URL then carries no password.
    jobline_database_iam_auth: bool = False
    aws_endpoint_url: str | None = None  # the local stack points every client at moto


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read from the environment on first use."""
    return Settings()
