"""The waitlist: slots, entries waiting for them, holds offered by token, notifications, audit logs."""
