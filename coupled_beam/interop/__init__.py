"""Bridges to other accelerator codes (optional extras)."""
