"""The `scheduled` queue's jobs: sending the tenant's due e-mail campaigns, and writing its sitemap to S3."""
