"""Jobline: background jobs on AWS's managed parts (SQS, Lambda, DynamoDB or Redis)."""

from __future__ import annotations

__version__ = "0.1.0"
