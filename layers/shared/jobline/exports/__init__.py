"""Data exports: CSV files of a tenant's rows streamed from Postgres to S3, with a download link."""
