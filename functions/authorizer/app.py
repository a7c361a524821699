"""The HTTP API's Lambda authorizer: checks the bearer token before API Gateway calls the API.

Thin on purpose (cold start): the logic is `jobline.auth_gateway`, which imports only `jobline.auth`.
"""

from jobline.auth_gateway import lambda_handler

__all__ = ["lambda_handler"]
