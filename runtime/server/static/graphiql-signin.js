// Tessera's GraphiQL page: sign in to one tenant, then explore its GraphQL API.
//
// Signing in posts to /auth/login and keeps the access and refresh tokens in
// sessionStorage (this tab only). Requests carry the access token; it is refreshed a
// minute before it expires, and once more if a request comes back 401. A pasted token
// (a JWT or a tsk_ API token) is used as it is and cannot be refreshed.
(function () {
  "use strict";
  const tenant = document.body.dataset.tenant;
  const key = "tessera:" + tenant;
  const $ = (id) => document.getElementById(id);
  let session = null;
  let timer = null;
  let rendered = false;

  function load() {
    try {
      return JSON.parse(sessionStorage.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  }

  function save(value) {
    session = value;
    if (value) sessionStorage.setItem(key, JSON.stringify(value));
    else sessionStorage.removeItem(key);
  }

  function fromTokens(tokens, email) {
    return {
      access: tokens.access_token,
      refresh: tokens.refresh_token || null,
      expiresAt: tokens.expires_in ? Date.now() + tokens.expires_in * 1000 : null,
      email: email,
    };
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(data.detail || data.title || response.status + " " + response.statusText);
    }
    return data;
  }

  // One refresh at a time: refresh tokens rotate, and presenting one a second time is
  // taken as theft (the server revokes the chain), so requests that meet a 401 together
  // (GraphiQL's schema fetch and a query, right after a reload) share one refresh.
  let refreshing = null;

  function refresh() {
    if (!session || !session.refresh) return Promise.resolve(false);
    if (!refreshing) {
      refreshing = (async () => {
        try {
          const tokens = await post("/auth/refresh", { refresh_token: session.refresh });
          save(fromTokens(tokens, session.email));
          schedule();
          return true;
        } catch (e) {
          return false;
        } finally {
          refreshing = null;
        }
      })();
    }
    return refreshing;
  }

  function schedule() {
    clearTimeout(timer);
    if (!session || !session.refresh || !session.expiresAt) return;
    const wait = Math.max(5000, session.expiresAt - Date.now() - 60000);
    timer = setTimeout(refresh, wait);
  }

  function signedOut(message) {
    clearTimeout(timer);
    save(null);
    $("graphiql").hidden = true;
    $("sign-in").hidden = false;
    $("sign-out").hidden = true;
    $("who").textContent = "";
    $("error").textContent = message || "";
  }

  async function authorisedFetch(url, options) {
    const call = () =>
      fetch(url, {
        ...options,
        headers: { ...(options.headers || {}), authorization: "Bearer " + session.access },
      });
    const used = session.access;
    let response = await call();
    // A 401 for a token another request has already replaced needs no refresh of its own.
    if (response.status === 401 && session && (session.access !== used || (await refresh()))) {
      response = await call();
    }
    if (response.status === 401) {
      signedOut("Your sign-in has ended; sign in again. 登录已失效，请重新登录。");
    }
    return response;
  }

  function start() {
    $("sign-in").hidden = true;
    $("graphiql").hidden = false;
    $("sign-out").hidden = false;
    $("who").textContent = session.email ? session.email : "token";
    schedule();
    if (rendered) return;
    rendered = true;
    const fetcher = GraphiQL.createFetcher({
      url: window.location.pathname,
      fetch: authorisedFetch,
    });
    ReactDOM.createRoot($("graphiql")).render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultEditorToolsVisibility: true,
        defaultQuery: "# " + tenant + "\n{\n  __typename\n}\n",
      }),
    );
  }

  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("error").textContent = "";
    const email = $("email").value.trim();
    try {
      const tokens = await post("/auth/login", {
        email: email,
        password: $("password").value,
        tenant: tenant,
      });
      $("password").value = "";
      save(fromTokens(tokens, email));
      start();
    } catch (e) {
      $("error").textContent = e.message;
    }
  });

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (!token) return;
    $("token").value = "";
    save({ access: token, refresh: null, expiresAt: null, email: null });
    start();
  });

  $("sign-out").addEventListener("click", async () => {
    if (session && session.refresh) {
      try {
        await post("/auth/logout", { refresh_token: session.refresh });
      } catch (e) {
        // Signed out here either way.
      }
    }
    signedOut("");
  });

  session = load();
  if (session && session.access) start();
  else signedOut("");
})();
