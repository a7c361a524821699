"""Data exports: a tenant's rows streamed from Postgres to S3 as CSV, Excel or PDF, and a revenue
report, each behind a download link."""
