"""The web app's one HTML page.

The app is plain ES modules under ``static/app/`` and the vendored Vue (its browser
build compiles the templates in the page), so it needs no build step and no Node: ``make
demo`` serves it with Python alone. The import map names Vue's file; ECharts is imported
by the pages that draw charts, so the first load carries only Vue, the app and its CSS
(benchmarks/web_app.py measures it).
"""

from __future__ import annotations

import json
from html import escape

from runtime.server import vendor
from runtime.server.vendor import STATIC
from ui_schema.words import WORDS

#: Where the web app's scripts and stylesheet are served.
APP = "/static/app"
#: The app's modules, preloaded by the page (found once, when the server starts).
MODULES = tuple(
    sorted(p.relative_to(STATIC / "app").as_posix() for p in (STATIC / "app").rglob("*.js"))
)


def app_page(locale: str) -> str:
    """Return the page for a browser whose preferred language is ``locale``."""
    imports = {
        "imports": {
            "vue": vendor.url("vue", "dist/vue.esm-browser.prod.js"),
            "echarts": vendor.url("echarts", "dist/echarts.esm.min.js"),
        }
    }
    lang = escape(locale)
    # Every module of the app at once, rather than each after the one importing it.
    preloads = "\n  ".join(f'<link rel="modulepreload" href="{APP}/{m}">' for m in MODULES)
    # The words before sign-in (the shell brings them after): "</" cannot end the script.
    words = json.dumps(WORDS, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
  <meta name="theme-color" content="#1f4e79">
  <title>Tessera CRM</title>
  <link rel="icon" href="/static/favicon.svg">
  <link rel="stylesheet" href="{APP}/app.css">
  <script type="importmap">{json.dumps(imports)}</script>
  <link rel="modulepreload" href="{imports["imports"]["vue"]}">
  {preloads}
  <script type="module" src="{APP}/main.js"></script>
</head>
<body data-locale="{lang}">
  <div id="app"><p class="boot">Tessera CRM…</p></div>
  <script type="application/json" id="words">{words}</script>
  <noscript>Tessera CRM needs JavaScript · 需要启用 JavaScript</noscript>
</body>
</html>
"""
