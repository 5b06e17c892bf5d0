"""`feedworkers serve`: the HTTP API, status page and metrics, in-process with uvicorn."""

from __future__ import annotations

import click

from workers.cli_common import startup

__all__ = ["serve"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; 0.0.0.0 for every one.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the HTTP API, the status page (/) and Prometheus metrics (/metrics).

    The API reads the state workers leave in Redis and the store, so run it beside `feedworkers run` or
    on any machine that reaches both. Write endpoints (refetch, feed admin) need
    FEEDWORKERS_API_TOKEN; without it they answer 403. The token travels in plain HTTP: behind a
    TLS-terminating proxy when --host is not a loopback address.

    \b
    Examples:
      feedworkers serve
      FEEDWORKERS_API_TOKEN=$(openssl rand -hex 16) feedworkers serve --host 0.0.0.0 --port 8080
      curl -s localhost:8080/api/status | jq .queues
    """
    import uvicorn

    from workers.api import create_app
    from workers.broker import broker_url

    settings = startup(sync=False)
    broker_url()  # starts the embedded Redis when FEEDWORKERS_REDIS_URL is not set
    app = create_app(settings)
    click.echo(f"serve: http://{host}:{port}/ (API docs at /docs); Ctrl-C stops", err=True)
    # log_config=None keeps the structlog set-up of startup(): uvicorn's records go through it too.
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, server_header=False)
