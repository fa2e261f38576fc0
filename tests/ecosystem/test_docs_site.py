# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docs site `make docs` builds, opened in headless Chromium (Debian's, `make browser`) through Playwright:
every page reachable from the front page renders, every internal link and anchor resolves, every module, role and
guide has its page, and the search finds a module."""

import functools
import http.server
import os
import posixpath
import shutil
import threading
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SITE = os.path.join(REPO, "build", "docs", "build", "html")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
COLLECTION = "collections/pexip/infinity/"


def _expected_pages():
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(REPO, "plugins", "modules"))
                     if name.endswith(".py") and not name.startswith("_"))
    roles = sorted(name for name in os.listdir(os.path.join(REPO, "roles"))
                   if os.path.isfile(os.path.join(REPO, "roles", name, "meta", "argument_specs.yml")))
    guides = sorted(name[:-3] for name in os.listdir(os.path.join(REPO, "docs")) if name.endswith(".md"))
    return modules, roles, guides


@pytest.fixture(scope="module")
def site_url():
    assert os.path.isfile(os.path.join(SITE, "index.html")), "no docs site: run `make docs` first"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    handler = functools.partial(Quiet, directory=SITE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    assert os.path.exists(CHROMIUM), "no chromium: run `make browser`"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def crawl(site_url, browser):  # pylint: disable=redefined-outer-name
    """Visit every page reachable from index.html; return {path: (title, ids, links)} and the errors found."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append("%s: JavaScript error %s" % (page.url, exc)))
    pages, queue = {}, ["index.html"]
    while queue:
        path = queue.pop()
        if path in pages:
            continue
        response = page.goto(site_url + path)
        if response is None or response.status != 200:
            errors.append("%s: HTTP %s" % (path, response and response.status))
            pages[path] = ("", set(), [])
            continue
        title = page.locator("h1").first.inner_text() if page.locator("h1").count() else ""
        ids = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        internal = []
        for link in links:
            parsed = urllib.parse.urlsplit(link)
            if not link.startswith(site_url):
                continue
            target = posixpath.normpath(parsed.path[len(urllib.parse.urlsplit(site_url).path):]) or "index.html"
            if target.endswith("/") or target == ".":
                target = posixpath.join(target, "index.html").lstrip("./")
            internal.append((target, parsed.fragment))
            if target.endswith(".html") and target not in pages:
                queue.append(target)
        pages[path] = (title, ids, internal)
    page.close()
    return pages, errors


def test_every_page_renders_and_every_internal_link_resolves(crawl):  # pylint: disable=redefined-outer-name
    pages, errors = crawl
    for path, (title, _ids, links) in pages.items():
        if path not in ("search.html", "genindex.html"):
            assert title.strip(), "%s has no heading" % path
        for target, fragment in links:
            if target.endswith(".html"):
                assert target in pages, "%s links to missing %s" % (path, target)
                if fragment:
                    assert fragment in pages[target][1], "%s links to missing anchor %s#%s" % (path, target, fragment)
            else:
                assert os.path.exists(os.path.join(SITE, target)), "%s links to missing file %s" % (path, target)
    assert not errors, errors
    print("docs site: %d pages" % len(pages))


def test_every_module_role_and_guide_has_a_page(crawl):  # pylint: disable=redefined-outer-name
    pages, _errors = crawl
    modules, roles, guides = _expected_pages()
    assert modules and roles and guides
    for module in modules:
        assert module in pages.get(COLLECTION + module + "_module.html", ("",))[0], module
    for role in roles:
        assert role in pages.get(COLLECTION + role + "_role.html", ("",))[0], role
    for guide in guides:
        assert "guides/%s.html" % guide in pages, guide
    rendered = [path for path in pages if path.startswith(COLLECTION)]
    print("docs site: %d modules, %d roles, %d guides; %d collection pages"
          % (len(modules), len(roles), len(guides), len(rendered)))


def test_search_finds_a_module(site_url, browser):  # pylint: disable=redefined-outer-name
    page = browser.new_page()
    page.goto(site_url + "search.html?q=pexip_system_servers")
    results = page.locator("#search-results a")
    results.first.wait_for(timeout=30000)
    hrefs = results.evaluate_all("els => els.map(e => e.href)")
    assert any(href.split("#")[0].endswith(COLLECTION + "pexip_system_servers_module.html") for href in hrefs), hrefs
    page.close()
