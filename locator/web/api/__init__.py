"""The JSON API under ``/api/v1``: facilities, nearest and along-route
(:mod:`.facilities`, blueprint ``api``) and coverage, grid, progress and plans
(:mod:`.coverage`, blueprint ``api_coverage``)."""
