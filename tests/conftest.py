"""Shared pytest set-up: the repository root on sys.path so that tests import the packages."""
