"""The local stack: the whole system on one machine, without Docker or an AWS account.

`python -m jobline_dev.local` (`make local`) runs it until Ctrl-C; tests use `LocalStack` in-process.
"""

from __future__ import annotations

from jobline_dev.local.stack import LocalStack, StackConfig

__all__ = ["LocalStack", "StackConfig"]
