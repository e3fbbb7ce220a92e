"""gunicorn settings for production (``gunicorn --config deploy/gunicorn.conf.py wsgi:app``).

Read from the environment file (deploy/exchange.env.example): ``GUNICORN_BIND`` and ``GUNICORN_WORKERS``.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
# Sync workers: every request is short; a slow client is nginx's to buffer, not a worker's.
worker_class = "sync"
timeout = 60
graceful_timeout = 30
# Restart each worker now and then, so a slow leak in a library never grows for weeks.
max_requests = 2000
max_requests_jitter = 200
# The app logs every request itself, with its request id (app/requestlog.py); gunicorn's access log would double it.
accesslog = None
errorlog = "-"
loglevel = "info"
# The longest request line gunicorn takes (its maximum). nginx's large_client_header_buffers (deploy/nginx) is
# smaller, so a longer line is refused there, with a JSON 414, before gunicorn could answer with its HTML one.
limit_request_line = 8190
# Proxy headers are interpreted by the app (ProxyFix with TRUSTED_PROXIES), not by gunicorn.
forwarded_allow_ips = "127.0.0.1"
