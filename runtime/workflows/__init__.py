"""Workflow execution: the outbox dispatcher, runs and their steps, actions, timers,
schedules and approvals, on Celery. See docs/workflows.md for the model and guarantees."""
