"""A self-hosted reimplementation of CareCloud's Events API on PostgreSQL."""

__version__ = "0.1.0"
