"""``python -m grader.site``: build, serve, fetch assets, regenerate pages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import grader.site
from grader.catalogue import PROJECT_ROOT
from grader.site.assets import SITE_DIR, DocsError, fetch_assets
from grader.site.build import build_site, serve_site
from grader.site.figures import write_figures
from grader.site.pages import write_exercise_index, write_questions_pages


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.site",
        description=grader.site.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build both languages with --strict")
    build.add_argument("--site-dir", type=Path, default=SITE_DIR)
    serve = commands.add_parser("serve", help="build, then serve on 127.0.0.1")
    serve.add_argument("--site-dir", type=Path, default=SITE_DIR)
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument("--no-build", action="store_true", help="serve what is already built")
    assets = commands.add_parser("assets", help="fetch KaTeX, Mermaid and the shim only")
    assets.add_argument("--force", action="store_true", help="fetch even if present")
    commands.add_parser(
        "index", help="rewrite the generated pages: exercise index and interview questions"
    )
    figures = commands.add_parser("figures", help="draw the concept pages' figures only")
    figures.add_argument("--force", action="store_true", help="draw even if current")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build_site(args.site_dir)
        elif args.command == "serve":
            serve_site(args.site_dir, port=args.port, build=not args.no_build)
        elif args.command == "assets":
            print(fetch_assets(force=args.force))
        elif args.command == "figures":
            for path in write_figures(force=args.force):
                print(path.relative_to(PROJECT_ROOT))
        elif args.command == "index":
            for path in [*write_exercise_index(), *write_questions_pages()]:
                print(path.relative_to(PROJECT_ROOT))
    except DocsError as error:
        print(f"docs: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
