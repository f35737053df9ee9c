"""Every write to RollCall's data goes through a function in this package.

Functions are keyword-only, typed, atomic, and validate before they save. Views, the API, admin
actions, management commands and Celery tasks call them; none re-implements a rule.
"""
