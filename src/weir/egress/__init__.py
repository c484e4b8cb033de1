"""Egress: recording workers that join calls as hidden participants and turn them into files."""
