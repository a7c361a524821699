"""Bulk uploads: mechanics, service providers and policies, validated per row and upserted per organisation."""
