"""Running mkdocs for both languages, and serving the built site on 127.0.0.1."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from grader.catalogue import PROJECT_ROOT
from grader.site.assets import CONFIGS, SITE_DIR, DocsError, fetch_assets
from grader.site.figures import write_figures


def mkdocs_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"  # mkdocs 1.6 otherwise nags about the 2.0 rewrite
    return env


def run_mkdocs(config: str, site_dir: Path, strict: bool = True) -> subprocess.CompletedProcess:
    """One ``mkdocs build`` of one language, run from the repository root (snippets' base_path
    is relative to the working directory). Returns the finished process; never raises."""
    command = [sys.executable, "-m", "mkdocs", "build", "-f", config, "-d", str(site_dir)]
    if strict:
        command.append("--strict")
    return subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=mkdocs_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def build_site(site_dir: Path = SITE_DIR, strict: bool = True, quiet: bool = False) -> Path:
    """Fetch the assets if needed, draw the figures (when their sources changed), then build
    English into site_dir and Chinese into site_dir/zh, failing on any mkdocs warning (broken
    link or anchor, missing snippet)."""
    fetch_assets(quiet=quiet)
    write_figures(quiet=quiet)  # drawn from the reference into docs/<lang>/figures/
    site_dir = Path(site_dir).resolve()
    for config, subfolder in CONFIGS:
        result = run_mkdocs(config, site_dir / subfolder, strict=strict)
        if result.returncode != 0:
            raise DocsError(
                f"mkdocs build -f {config} failed:\n{result.stdout}{result.stderr}".rstrip()
            )
        if not quiet:
            print(f"docs: built {config} into {site_dir / subfolder}", file=sys.stderr)
    return site_dir


class SiteRequestHandler(SimpleHTTPRequestHandler):
    """Static files with explicit types (the platform's MIME table may lack woff2, or call .js
    text/plain) and no per-request log lines."""

    extensions_map = {  # noqa: RUF012 -- the base class declares it as a plain class attribute
        **SimpleHTTPRequestHandler.extensions_map,
        ".css": "text/css",
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript",
        ".json": "application/json",
        ".mjs": "text/javascript",
        ".svg": "image/svg+xml",
        ".woff": "font/woff",
        ".woff2": "font/woff2",
        ".xml": "application/xml",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_server(
    site_dir: Path = SITE_DIR, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """An HTTP server for a built site, bound to loopback; port 0 picks a free port."""
    handler = functools.partial(SiteRequestHandler, directory=str(site_dir))
    return ThreadingHTTPServer((host, port), handler)


def serve_site(
    site_dir: Path = SITE_DIR, host: str = "127.0.0.1", port: int = 8000, build: bool = True
) -> None:
    """Build (unless ``build`` is False), then serve until Ctrl-C, printing the URL."""
    if build:
        build_site(site_dir)
    elif not (Path(site_dir) / "index.html").is_file():
        raise DocsError(f"no built site in {site_dir}: run `python -m grader.site build`")
    try:
        server = make_server(site_dir, host, port)
    except OSError as error:
        raise DocsError(f"cannot listen on {host}:{port} ({error}); try another --port") from None
    bound_host, bound_port = server.server_address[:2]
    print(f"docs: serving {site_dir} at http://{bound_host}:{bound_port}/  (Ctrl-C stops)")
    print(f"      中文: http://{bound_host}:{bound_port}/zh/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
