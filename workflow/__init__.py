"""Redress services: the use cases, their storage, time and configuration."""
