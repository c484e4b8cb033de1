"""Weir's wire format: JSON models of the coordinator API and its errors."""
