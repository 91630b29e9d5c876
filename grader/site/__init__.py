"""The bilingual docs site: English at ``site/``, Chinese at ``site/zh/``.

    python -m grader.site build [--site-dir DIR]   # both languages, mkdocs --strict
    python -m grader.site serve [--port N]         # build, then serve on 127.0.0.1
    python -m grader.site assets [--force]         # only fetch KaTeX / Mermaid / shim
    python -m grader.site index                    # rewrite the exercise index pages
    python -m grader.site figures [--force]        # draw the concept pages' figures

The site works offline, so the browser files it needs (KaTeX, Mermaid, the iframe-worker shim
for file://) are served from the site itself. They are too big to keep in git (Mermaid alone
is 3.5 MB), so they are fetched once from the npm registry with ``npm pack`` at the exact
versions of ``tools/docs-assets/package-lock.json``, checked against the lock's sha512
integrity, and unpacked into ``docs/overrides/assets/vendor/`` (gitignored), which the theme
copies into both sites. ``npm pack`` downloads only the three tarballs, not Mermaid's
hundred-package dependency tree, because the ``mermaid.min.js`` bundle needs none of it.
"""

# assets.py fetches the vendored browser files, pages.py writes the generated pages,
# build.py runs mkdocs and serves the result; __main__.py is the command line above.
