"""Development and test tooling: `make run` (devrun, demo seeding), the full-stack harness, pytest fixtures
and test doubles. Never installed in production images.
"""
