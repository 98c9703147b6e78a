"""Packaging checks: the installed wheel, the desktop metadata, and the smoke helper of package.sh."""
