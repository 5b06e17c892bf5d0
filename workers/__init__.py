"""feedworkers: poll syndicated news feeds, clean, deduplicate, tag and publish their stories.

`celery -A workers worker` finds the Celery app here.
"""

from workers.celeryapp import app

__all__ = ["app"]
