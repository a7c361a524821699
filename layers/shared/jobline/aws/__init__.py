"""Adapters to AWS services: SQS as the wake-up channel, S3 for large payloads, event source
mappings for pause/resume, and the boto3 clients they share."""
