"""Tessera's own HTML pages: the landing page, each tenant's GraphiQL (with sign-in) and
the not-found page (the web app's page is runtime/server/webapp.py). Every script and
stylesheet is served from ``/static`` (vendored, see ``runtime/server/vendor.py``), so the
pages work on a machine with no internet.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.exceptions import NotFoundException

from metadata.registry.store import TenantNotFound
from runtime.server import vendor

_HEAD = """<!doctype html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="/static/favicon.svg">
  {links}
  <link rel="stylesheet" href="/static/tessera.css">
</head>
"""


def _page(title: str, body: str, *, links: str = "", status: int = 200) -> Response[str]:
    html = _HEAD.format(lang="en", title=escape(title), links=links) + body + "\n</html>\n"
    return Response(html, media_type=MediaType.HTML, status_code=status)


def not_found(message: str) -> Response[str]:
    """Return the HTML not-found page."""
    body = f"""<body>
  <header class="bar"><a class="brand" href="/" style="color:#fff">Tessera</a></header>
  <main class="page"><div class="card">
    <h1>Not found · 未找到</h1>
    <p>{escape(message)}</p>
    <p><a href="/">Back to the start page · 返回首页</a></p>
  </div></main>
</body>"""
    return _page("Not found · Tessera", body, status=404)


def graphiql(tenant: str) -> Response[str]:
    """Return a tenant's GraphiQL page (it holds no data; its requests carry the sign-in)."""
    name = escape(tenant)
    links = f'<link rel="stylesheet" href="{vendor.url("graphiql", "graphiql.min.css")}">'
    scripts = "\n  ".join(
        f'<script src="{src}"></script>'
        for src in (
            vendor.url("react", "umd/react.production.min.js"),
            vendor.url("react-dom", "umd/react-dom.production.min.js"),
            vendor.url("graphiql", "graphiql.min.js"),
            "/static/graphiql-signin.js",
        )
    )
    body = f"""<body data-tenant="{name}">
  <header class="bar">
    <a class="brand" href="/" style="color:#fff">Tessera</a>
    <span class="tenant">{name}</span>
    <span class="who" id="who"></span>
    <button id="sign-out" type="button" hidden>Sign out · 退出</button>
  </header>
  <main class="page" id="sign-in" hidden>
    <div class="card">
      <h1>Sign in to {name} · 登录</h1>
      <form id="password-form">
        <label for="email">E-mail · 邮箱</label>
        <input id="email" name="email" type="email" autocomplete="username" required>
        <label for="password">Password · 密码</label>
        <input id="password" name="password" type="password" autocomplete="current-password"
               required>
        <button class="primary" type="submit">Sign in · 登录</button>
      </form>
      <p class="error" id="error" role="alert"></p>
    </div>
    <div class="card">
      <h2>Or use a token · 或使用令牌</h2>
      <form id="token-form">
        <label for="token">Access token or API token (tsk_…)</label>
        <input id="token" name="token" autocomplete="off">
        <button class="primary" type="submit">Use token · 使用令牌</button>
      </form>
    </div>
  </main>
  <div id="graphiql" hidden></div>
  {scripts}
</body>"""
    return _page(f"Tessera GraphQL · {tenant}", body, links=links)


@get("/", sync_to_thread=True, include_in_schema=False)
def landing(request: Request[Any, Any, Any]) -> Response[str]:
    """The start page: where the API docs and the tenants' GraphiQL are."""
    platform = request.app.state.platform
    tenants = ""
    if not platform.settings.production:
        names = [t.name for t in platform.service.list_tenants()]
        items = "".join(
            f'<li><a href="/app/{escape(n)}/home">{escape(n)}</a> — web app · '
            f'<a href="/t/{escape(n)}/graphql">GraphiQL</a></li>'
            for n in names
        )
        tenants = (
            f'<div class="card"><h2>Tenants · 租户</h2><ul class="links">{items}</ul></div>'
            if names
            else '<div class="card"><h2>Tenants · 租户</h2><p class="muted">No tenants yet: '
            "<code>tessera tenant create NAME</code></p></div>"
        )
    body = f"""<body>
  <header class="bar"><span class="brand">Tessera</span></header>
  <main class="page">
    <div class="card">
      <h1>Tessera</h1>
      <p class="muted">Metadata-driven CRM platform · 元数据驱动的 CRM 平台</p>
      <ul class="links">
        <li><a href="/app/signin">Web app · 网页应用</a></li>
        <li><a href="/schema/swagger">Admin API docs · 管理 API 文档</a></li>
        <li><a href="/ready">Readiness · 就绪检查</a></li>
      </ul>
      <form onsubmit="location.href='/t/'+encodeURIComponent(this.t.value)+'/graphql';
                      return false;">
        <label for="t">Open a tenant's GraphiQL · 打开租户的 GraphiQL</label>
        <input id="t" name="t" placeholder="tenant" required pattern="[a-z][a-z0-9_]*">
        <button class="primary" type="submit">Open · 打开</button>
      </form>
    </div>
    {tenants}
  </main>
</body>"""
    return _page("Tessera", body)


def graphiql_or_404(service: Any, tenant: str) -> Response[str]:
    """Return the tenant's GraphiQL page, or the not-found page for an unknown tenant."""
    try:
        service.get_tenant(tenant)
    except (TenantNotFound, NotFoundException):
        return not_found(f"There is no tenant named {tenant}.")
    return graphiql(tenant)
