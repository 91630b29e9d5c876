"""The docs site: both languages build with --strict, and every page works in a real browser.

The browser half builds the site into a temporary folder (fetching KaTeX / Mermaid once, see
grader/site/), serves it on 127.0.0.1 and drives Debian's Chromium with Playwright for
Python. Every page of both languages is opened and must: make no request that leaves the
loopback server, log no console error, render all its math with KaTeX and all its diagrams to
SVG with Mermaid, link its language switch to the same page in the other language, and draw
Chinese text with real CJK glyphs rather than tofu boxes. A screenshot of every page is saved
under build/docs-screenshots/ for a person to look at. Search (both languages) and opening
the site from file:// are checked too.

Chromium and Playwright are required, not optional: if either is missing these tests fail and
say how to install them (CI installs them with tools/install-browser.sh).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from grader.catalogue import PROJECT_ROOT
from grader.site import assets as site_assets
from grader.site import build as site_build
from grader.site import pages as site_pages
from grader.site.figures import write_figures

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying Google's hosts, which this
# machine's closed network refuses (and which would show up as requests leaving loopback).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "the docs browser test needs Playwright for Python and Debian's Chromium with a CJK font: "
    "run `.venv/bin/pip install -e '.[docs]'` and `tools/install-browser.sh` (apt-get install "
    "chromium fonts-wqy-microhei); `playwright install` cannot download its own browser here"
)
SCREENSHOTS = PROJECT_ROOT / "build" / "docs-screenshots"
RENDER_TIMEOUT_MS = 20_000
HAN = re.compile(r"[\u4e00-\u9fff]")


def source_pages(language: str) -> list[str]:
    """Page paths (as built, e.g. ``exercises/index.html``) from the Markdown in docs/LANG."""
    root = site_assets.DOCS_DIR / language
    return sorted(str(path.relative_to(root).with_suffix(".html")) for path in root.rglob("*.md"))


# The 404 page comes from the theme, not from Markdown, and is a page a reader can meet too.
ALL_PAGES = [
    (language, page)
    for language in site_assets.LANGUAGES
    for page in [*source_pages(language), "404.html"]
]


def site_url(base: str, language: str, page: str) -> str:
    return base + ("zh/" if language == "zh" else "") + page


# ----------------------------------------------------------------------------- fast checks


def require_docs_packages() -> None:
    missing = [
        name
        for name in ("mkdocs", "material", "pymdownx", "jieba")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        pytest.fail(f"missing {missing}: run `.venv/bin/pip install -e '.[docs]'`")


def test_both_configs_build_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict` passes for mkdocs.yml and mkdocs.zh.yml: no broken link, anchor
    or snippet. (It needs no fetched assets: mkdocs does not open extra_javascript files; the
    figures the concept pages show are drawn first, as every build does.)"""
    require_docs_packages()
    write_figures(quiet=True)
    for config, subfolder in site_assets.CONFIGS:
        result = site_build.run_mkdocs(config, tmp_path / subfolder)
        assert result.returncode == 0, (
            f"mkdocs build --strict -f {config} failed:\n{result.stdout}{result.stderr}"
        )
    # Chinese search only works when the search plugin segmented the text with jieba (it joins
    # the words it finds with U+200B, which the configured separator splits on).
    index = json.loads((tmp_path / "zh" / "search" / "search_index.json").read_text("utf-8"))
    han_docs = [doc for doc in index["docs"] if HAN.search(doc["text"])]
    assert han_docs, "the Chinese search index holds no Chinese text"
    assert all("\u200b" in doc["text"] for doc in han_docs), (
        "Chinese text in the search index is not segmented: is jieba installed ('.[docs]')?"
    )


def test_exercise_index_is_current() -> None:
    for language in site_assets.LANGUAGES:
        path = site_pages.index_path(language)
        assert path.is_file(), f"missing {path}: run `python -m grader.site index`"
        text = path.read_text(encoding="utf-8")
        if site_assets.INDEX_MARKER not in text:
            continue  # written by hand on purpose
        assert text == site_pages.render_exercise_index(language), (
            f"{path.relative_to(PROJECT_ROOT)} is out of date with grader/catalogue.toml or the "
            "exercise pages: run `python -m grader.site index`"
        )


def test_every_figure_is_drawn_and_shown_in_both_languages() -> None:
    """The figures grader/site/figures.py draws are exactly the ones the pages show, in both
    languages, each with alt text (the images themselves are drawn by every build)."""
    from grader.site.figures import FIGURES

    for language in site_assets.LANGUAGES:
        shown: dict[str, str] = {}
        for path in (site_assets.DOCS_DIR / language).rglob("*.md"):
            text = path.read_text(encoding="utf-8")
            pattern = r"!\[((?:[^\[\]]|\[[^\]]*\])*)\]\((?:\.\./)+figures/([\w.-]+)\)"
            for alt, name in re.findall(pattern, text):  # alt text may hold [CLS]
                shown[name] = alt
        assert set(shown) == set(FIGURES), f"{language}: {sorted(set(shown) ^ set(FIGURES))}"
        assert all(len(alt) >= 20 for alt in shown.values()), f"{language}: short alt text"


def test_same_pages_in_both_languages() -> None:
    """The language switch links each page to the page at the same path in the other site."""
    english, chinese = set(source_pages("en")), set(source_pages("zh"))
    assert english == chinese, (
        f"pages only in docs/en: {sorted(english - chinese)}; "
        f"only in docs/zh: {sorted(chinese - english)}"
    )


# ----------------------------------------------------------------------------- browser fixtures


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_docs_packages()
    # Screenshots of pages that no longer exist would mislead whoever looks at the folder.
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    try:
        return site_build.build_site(tmp_path_factory.mktemp("site"), quiet=True)
    except site_assets.DocsError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def base_url(built_site: Path) -> Iterator[str]:
    server = site_build.make_server(built_site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium with a new, empty profile (no cache, no extensions)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"Playwright for Python is not installed: {INSTALL_HINT}")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL_HINT}")
    with (
        tempfile.TemporaryDirectory(prefix="bertprep-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
            locale="en-US",
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Visit:
    """What one page did in the browser: every request, every error."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser: Any) -> Iterator[tuple[Any, Visit]]:
    """A fresh tab, recording what it requests and every error it logs."""
    page = browser.new_page()
    visit = Visit()
    page.on("request", lambda request: visit.requests.append(request.url))
    page.on("requestfailed", lambda request: visit.failed.append(f"{request.url} (failed)"))
    page.on(
        "response",
        lambda response: (
            visit.failed.append(f"{response.url} ({response.status})")
            if response.status >= 400
            else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            visit.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: visit.console_errors.append(f"uncaught: {error}"))
    try:
        yield page, visit
    finally:
        page.close()


# ----------------------------------------------------------------------------- browser helpers


def count_in_html(html: str, pattern: str) -> int:
    return len(re.findall(pattern, html))


def wait_for_rendering(page: Any, diagrams: int) -> None:
    """Until every .arithmatex is handled by our KaTeX script and Material has replaced every
    ```mermaid block (it removes the <pre> only once the SVG is in place), then fonts."""
    page.wait_for_function(
        """(diagrams) =>
            [...document.querySelectorAll(".arithmatex")].every(e => e.dataset.katex)
            && document.querySelectorAll("div.mermaid").length >= diagrams
            && !document.querySelector("pre.mermaid")""",
        arg=diagrams,
        timeout=RENDER_TIMEOUT_MS,
    )
    page.evaluate("document.fonts.ready.then(() => true)")


def mermaid_svgs(page: Any) -> int:
    """How many div.mermaid hold an <svg>. Material renders diagrams into a *closed* shadow
    root that page scripts cannot read, so this asks the DevTools protocol, which can."""
    session = page.context.new_cdp_session(page)
    try:
        root = session.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    finally:
        session.detach()

    def walk(node: dict) -> Iterator[dict]:
        yield node
        for key in ("children", "shadowRoots"):
            for child in node.get(key, []):
                yield from walk(child)
        if "contentDocument" in node:
            yield from walk(node["contentDocument"])

    def has_svg(node: dict) -> bool:
        return any(n.get("nodeName", "").lower() == "svg" for n in walk(node))

    count = 0
    for node in walk(root):
        attributes = node.get("attributes", [])
        classes = dict(zip(attributes[::2], attributes[1::2], strict=True)).get("class", "")
        if node.get("nodeName") == "DIV" and "mermaid" in classes.split():
            count += any(has_svg(shadow) for shadow in node.get("shadowRoots", []))
    return count


def platform_fonts(page: Any, selector: str) -> list[str]:
    """The system fonts Chromium actually drew the text of ``selector`` with."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("DOM.enable")
        session.send("CSS.enable")
        root = session.send("DOM.getDocument", {"depth": 0})["root"]
        node = session.send("DOM.querySelector", {"nodeId": root["nodeId"], "selector": selector})
        fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    finally:
        session.detach()
    return [f"{font['familyName']} ({font['glyphCount']} glyphs)" for font in fonts]


def assert_cjk_glyphs(page: Any, where: str) -> None:
    """Chinese text is drawn with real glyphs. Without a CJK font Chromium draws every Han
    character as the same .notdef box, so three different characters from the page, drawn in
    its own text style, must give three different pictures, none equal to a private-use
    character's (always a box)."""
    characters = list(dict.fromkeys(HAN.findall(page.inner_text("article"))))[:3]
    assert len(characters) == 3, f"{where}: fewer than three distinct Chinese characters"
    page.evaluate(
        """(characters) => {
            const probe = document.createElement("div");
            probe.id = "cjk-probe";
            probe.className = "md-typeset";
            probe.style.cssText = "position:fixed;top:0;left:0;z-index:9999;display:flex;"
                + "background:#fff;color:#000;font-size:48px;line-height:64px";
            for (const text of characters) {
                const cell = document.createElement("span");
                cell.textContent = text;
                cell.style.cssText = "display:inline-block;width:64px;height:64px;"
                    + "text-align:center;overflow:hidden";
                probe.append(cell);
            }
            document.body.append(probe);
        }""",
        [*characters, "\ue000"],
    )
    cells = page.locator("#cjk-probe > span")
    pictures = [cells.nth(i).screenshot() for i in range(cells.count())]
    fonts = platform_fonts(page, "#cjk-probe")
    page.evaluate("document.getElementById('cjk-probe').remove()")
    assert len(set(pictures)) == len(pictures), (
        f"{where}: Chinese characters {characters} render as identical boxes (tofu) - "
        f"no CJK font? Chromium drew them with {fonts}. {INSTALL_HINT}"
    )


def assert_stays_on_loopback(visit: Visit, allowed_prefix: str, where: str) -> None:
    leaving = [
        url
        for url in visit.requests
        if not url.startswith(allowed_prefix) and urlsplit(url).scheme not in ("data", "blob")
    ]
    assert not leaving, f"{where}: requests leave the local site: {leaving}"


def screenshot_path(language: str, page: str) -> Path:
    return SCREENSHOTS / language / page.replace(".html", ".png")


# ----------------------------------------------------------------------------- browser tests


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "page"), ALL_PAGES, ids=[f"{lang}/{page}" for lang, page in ALL_PAGES]
)
def test_page_in_browser(
    built_site: Path, base_url: str, tab: tuple[Any, Visit], language: str, page: str
) -> None:
    browser_page, visit = tab
    url = site_url(base_url, language, page)
    html = (built_site / ("zh" if language == "zh" else "") / page).read_text(encoding="utf-8")
    math = count_in_html(html, r'class="arithmatex"')
    diagrams = count_in_html(html, r'<pre class="mermaid">')

    response = browser_page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, f"{url}: {response}"
    try:
        wait_for_rendering(browser_page, diagrams)
    finally:
        # Saved even when rendering failed: the picture usually says why.
        shot = screenshot_path(language, page)
        shot.parent.mkdir(parents=True, exist_ok=True)
        browser_page.screenshot(path=str(shot), full_page=True)

    assert not visit.console_errors, f"{url}: console errors: {visit.console_errors}"
    assert not visit.failed, f"{url}: failed requests: {visit.failed}"
    assert_stays_on_loopback(visit, base_url, url)

    if math:
        rendered = browser_page.locator(".arithmatex[data-katex=ok] .katex").count()
        assert rendered == math, f"{url}: KaTeX rendered {rendered} of {math} formulas"
        assert browser_page.evaluate(
            """[...document.fonts].some(f => f.family === "KaTeX_Main" && f.status === "loaded")"""
        ), f"{url}: KaTeX's fonts did not load from the site"
    if diagrams:
        svgs = mermaid_svgs(browser_page)
        assert svgs == diagrams, f"{url}: Mermaid drew {svgs} of {diagrams} diagrams as SVG"

    # Every image in the article (the figures drawn at build time among them) loads from the
    # site and says what it shows in its alt text.
    images = browser_page.eval_on_selector_all(
        "article img",
        """imgs => imgs.map(i => ({src: i.getAttribute("src"), alt: (i.getAttribute("alt") || "")
            .trim(), complete: i.complete, width: i.naturalWidth}))""",
    )
    for image in images:
        assert image["complete"] and image["width"] > 0, f"{url}: {image['src']} did not load"
        assert len(image["alt"]) >= 20, f"{url}: {image['src']} has no real alt text"

    # The language switch points at the same page in the other language.
    other = "en" if language == "zh" else "zh"
    switch = browser_page.eval_on_selector(f"a.md-select__link[hreflang={other}]", "a => a.href")
    if page != "404.html":
        assert switch == site_url(base_url, other, page), f"{url}: language switch -> {switch}"

    # Chinese pages, and English pages that quote Chinese (the blog corrections), draw real
    # glyphs. The theme's 404 text is English in both languages.
    if language == "zh":
        assert browser_page.get_attribute("html", "lang") == "zh"
    han = set(HAN.findall(browser_page.inner_text("article")))
    if page != "404.html" and (language == "zh" or len(han) >= 3):
        assert_cjk_glyphs(browser_page, url)


@pytest.mark.slow
def test_language_switch_clicks_through(base_url: str, tab: tuple[Any, Visit]) -> None:
    """A person's path: open the header's language menu on an English page, pick 中文, land on
    the same page in Chinese; and back."""
    browser_page, visit = tab
    page = "getting-started.html"
    browser_page.goto(site_url(base_url, "en", page))
    for target, label in (("zh", "中文"), ("en", "English")):
        browser_page.hover(".md-header__option .md-select")
        browser_page.get_by_role("link", name=label).click()
        browser_page.wait_for_url(site_url(base_url, target, page))
        assert browser_page.get_attribute("html", "lang") == target
    assert not visit.console_errors, visit.console_errors
    assert_stays_on_loopback(visit, base_url, "language switch")


@pytest.mark.slow
@pytest.mark.parametrize(("language", "query"), [("en", "attention"), ("zh", "注意力")])
def test_search_finds_pages(
    base_url: str, tab: tuple[Any, Visit], language: str, query: str
) -> None:
    """Search runs from the site's own index (Chinese segmented by jieba at build time)."""
    browser_page, visit = tab
    browser_page.goto(site_url(base_url, language, "index.html"))
    search = browser_page.locator("input.md-search__input")
    search.click()
    search.fill(query)
    # Material reads the query on keyup, which fill() (like a Chinese input method's commit)
    # does not send by itself: a real key press completes the typing.
    search.press("End")
    results = browser_page.locator(".md-search-result__item")
    results.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert results.count() > 0
    assert not visit.console_errors, visit.console_errors
    assert_stays_on_loopback(visit, base_url, f"search for {query}")


@pytest.mark.slow
@pytest.mark.parametrize("language", site_assets.LANGUAGES)
def test_site_opens_from_file(built_site: Path, tab: tuple[Any, Visit], language: str) -> None:
    """Opened straight from disk (file://), the home page still renders math and diagrams,
    searches, and fetches nothing from outside the site folder. The only thing that fails
    there is Material reading sitemap.xml for its language feature (browsers refuse XHR on
    file://), which our language switch does not need."""
    browser_page, visit = tab
    folder = built_site / ("zh" if language == "zh" else "")
    html = (folder / "index.html").read_text(encoding="utf-8")
    browser_page.goto((folder / "index.html").as_uri(), wait_until="load")
    wait_for_rendering(browser_page, count_in_html(html, r'<pre class="mermaid">'))
    assert browser_page.locator(".arithmatex[data-katex=ok]").count() == count_in_html(
        html, r'class="arithmatex"'
    )
    # Search works without a server: the offline plugin inlines the index as a script and the
    # iframe-worker shim stands in for the Web Worker that file:// pages may not start.
    search = browser_page.locator("input.md-search__input")
    search.fill("BERT")
    search.press("End")
    browser_page.locator(".md-search-result__item").first.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert_stays_on_loopback(visit, built_site.as_uri(), "file://")
    unexpected_failures = [url for url in visit.failed if "/sitemap.xml" not in url]
    assert not unexpected_failures, unexpected_failures
    unexpected_errors = [
        text
        for text in visit.console_errors
        if "sitemap.xml" not in text and text != "Failed to load resource: net::ERR_FAILED"
    ]
    assert not unexpected_errors, unexpected_errors


def test_interview_questions_page_is_current() -> None:
    """The question-bank page is generated from grader/interview/questions/ — the CLI's own data."""
    for language in site_assets.LANGUAGES:
        path = site_pages.questions_page_path(language)
        assert path.is_file(), f"missing {path}: run `python -m grader.site index`"
        assert path.read_text(encoding="utf-8") == site_pages.render_questions_page(language), (
            f"{path.relative_to(PROJECT_ROOT)} is out of date with grader/interview/questions/: "
            "run "
            "`python -m grader.site index`"
        )


def test_sidebar_lists_exercises_in_learning_order() -> None:
    """Both configs' nav list every exercise page, in the catalogue's order, each under the
    section of its part (Part I / Part II, named as the catalogue names them)."""
    from grader.catalogue import PARTS, PARTS_ZH, load_catalogue

    catalogue = load_catalogue()
    wanted = [f"exercises/{Path(e.docs).name}" for e in catalogue.exercises]
    for config, names in (("mkdocs.yml", PARTS), ("mkdocs.zh.yml", PARTS_ZH)):
        text = (PROJECT_ROOT / config).read_text(encoding="utf-8")
        listed, sections, section = [], {}, None
        for line in text.splitlines():
            entry = line.strip().removeprefix("- ")
            if line.strip().startswith("- ") and entry.endswith(":"):
                section = entry.removesuffix(":").strip('"')
            elif line.strip().startswith("- exercises/") and "index.md" not in line:
                listed.append(entry)
                sections[entry] = section
        assert listed == wanted, f"{config}: nav exercises differ from grader/catalogue.toml"
        for exercise in catalogue.exercises:
            page = f"exercises/{Path(exercise.docs).name}"
            assert sections[page] == names[exercise.part], (
                f"{config}: {page} should be under {names[exercise.part]!r}, not {sections[page]!r}"
            )
