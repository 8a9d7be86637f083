// Talking to Tessera: sign-in, the data API (/t/{tenant}/graphql), the metadata API
// (/t/{tenant}/metadata) and the compiled UI documents (/t/{tenant}/ui/..., with ETags).
//
// Tokens live in localStorage per tenant, so a rep's phone stays signed in across
// visits. The access token is refreshed a minute before it expires, and once more when a
// request comes back 401; refresh tokens rotate, so only one refresh runs at a time.

const KEY = (tenant) => "tessera:app:" + tenant;
let refreshing = null;

export class ApiError extends Error {
  constructor(message, code, errors) {
    super(message);
    this.code = code || "ERROR";
    this.errors = errors || [];
  }
}

export function session(tenant) {
  try {
    return JSON.parse(localStorage.getItem(KEY(tenant)) || "null");
  } catch (e) {
    return null;
  }
}

function keep(tenant, value) {
  if (value) localStorage.setItem(KEY(tenant), JSON.stringify(value));
  else localStorage.removeItem(KEY(tenant));
}

function fromTokens(tokens, email) {
  return {
    access: tokens.access_token,
    refresh: tokens.refresh_token || null,
    expiresAt: tokens.expires_in ? Date.now() + tokens.expires_in * 1000 : null,
    email,
  };
}

async function postJson(path, body, headers) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(headers || {}) },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(data.detail || data.title || String(response.status), String(response.status));
  }
  return data;
}

export async function signIn(tenant, email, password) {
  const tokens = await postJson("/auth/login", { email, password, tenant });
  keep(tenant, fromTokens(tokens, email));
}

export async function signOut(tenant) {
  const current = session(tenant);
  keep(tenant, null);
  if (current && current.refresh) {
    await postJson("/auth/logout", { refresh_token: current.refresh }).catch(() => null);
  }
}

function refresh(tenant) {
  const current = session(tenant);
  if (!current || !current.refresh) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const tokens = await postJson("/auth/refresh", { refresh_token: current.refresh });
        keep(tenant, fromTokens(tokens, current.email));
        return true;
      } catch (e) {
        keep(tenant, null);
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

async function authorized(tenant, make) {
  let current = session(tenant);
  if (current && current.expiresAt && current.expiresAt - Date.now() < 60000) {
    await refresh(tenant);
    current = session(tenant);
  }
  if (!current) throw new ApiError("signed out", "UNAUTHENTICATED");
  let response = await make(current.access);
  if (response.status === 401 && (await refresh(tenant))) {
    response = await make(session(tenant).access);
  }
  if (response.status === 401) {
    keep(tenant, null);
    throw new ApiError("signed out", "UNAUTHENTICATED");
  }
  return response;
}

export class Client {
  constructor(tenant, locale) {
    this.tenant = tenant;
    this.locale = locale;
    this.documents = new Map(); // path → {etag, body}
  }

  headers(token) {
    return { authorization: "Bearer " + token, "accept-language": this.locale };
  }

  async graphql(path, query, variables) {
    const response = await authorized(this.tenant, (token) =>
      fetch(path, {
        method: "POST",
        headers: { ...this.headers(token), "content-type": "application/json" },
        body: JSON.stringify({ query, variables: variables || {} }),
      })
    );
    const body = await response.json().catch(() => ({}));
    if (!response.ok && !body.errors) {
      throw new ApiError(body.detail || body.title || String(response.status), String(response.status));
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0];
      throw new ApiError(first.message, (first.extensions || {}).code, body.errors);
    }
    return body.data;
  }

  // The data API: records, aggregates, search, workflows and approvals.
  data(query, variables) {
    return this.graphql(`/t/${this.tenant}/graphql`, query, variables);
  }

  // The metadata API: views, members, labels.
  meta(query, variables) {
    return this.graphql(`/t/${this.tenant}/metadata`, query, variables);
  }

  // A compiled UI document, kept with its ETag: asked again, the server answers 304.
  async ui(path) {
    const url = `/t/${this.tenant}/ui/${path}${path.includes("?") ? "&" : "?"}locale=${this.locale}`;
    const kept = this.documents.get(url);
    const response = await authorized(this.tenant, (token) =>
      fetch(url, { headers: { ...this.headers(token), ...(kept ? { "if-none-match": kept.etag } : {}) } })
    );
    if (response.status === 304 && kept) return kept.body;
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new ApiError(problem.detail || String(response.status), String(response.status));
    }
    const body = await response.json();
    this.documents.set(url, { etag: response.headers.get("etag"), body });
    return body;
  }

  forget() {
    this.documents.clear();
  }
}
