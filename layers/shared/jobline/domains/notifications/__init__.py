"""Notifications: e-mail through SES and SMS through SNS, and the jobs that send them."""
