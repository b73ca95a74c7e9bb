"""gunicorn settings for the dashboard: `gunicorn -c deploy/gunicorn.conf.py dashboard.wsgi`.

Behind a reverse proxy on the same machine, so it listens on loopback only. Threaded
workers: a multi-gigabyte download from the archive keeps one thread busy, not a worker.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60  # a worker silent this long is restarted; streaming threads keep it alive
graceful_timeout = 30
max_requests = 2000  # recycle workers now and then
max_requests_jitter = 200
accesslog = "-"  # to the journal; query strings carry no secrets (tokens go in headers)
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"  # trust X-Forwarded-* only from the local proxy
