"""Waitlist worker: releases expired holds, cascades offers and runs the waitlist cleanup."""

from __future__ import annotations

from jobline.entrypoints import worker_handler

lambda_handler = worker_handler
