// The app's state: who is signed in where, the shell (words, apps, objects), each
// object's compiled UI schema, the members, the language, and messages for the person.
import { reactive } from "vue";
import { Client } from "./api.js";

const LOCALE_KEY = "tessera:locale";

function startLocale() {
  const saved = localStorage.getItem(LOCALE_KEY);
  if (saved) return saved;
  return (document.body.dataset.locale || navigator.language || "en").toLowerCase().startsWith("zh")
    ? "zh-CN"
    : "en";
}

export const store = reactive({
  tenant: null,
  client: null,
  locale: startLocale(),
  shell: null,
  schemas: {},
  members: {},
  me: null,
  toasts: [],
  recent: [],
  app: null,
});

// The words before sign-in come with the page; the shell's replace them after.
const PAGE_WORDS = JSON.parse((document.getElementById("words") || {}).textContent || "{}");

export function t(key, vars) {
  const words = (store.shell && store.shell.words) || PAGE_WORDS[store.locale] || PAGE_WORDS.en || {};
  let text = words[key] || key;
  for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, value);
  return text;
}

export function toast(message, kind) {
  const item = { id: Math.random(), message, kind: kind || "info" };
  store.toasts.push(item);
  setTimeout(() => {
    const i = store.toasts.indexOf(item);
    if (i >= 0) store.toasts.splice(i, 1);
  }, kind === "error" ? 6000 : 3000);
}

export async function enter(tenant) {
  if (store.tenant !== tenant || !store.client) {
    store.tenant = tenant;
    store.client = new Client(tenant, store.locale);
    store.schemas = {};
    store.shell = null;
    store.members = {};
    store.recent = JSON.parse(localStorage.getItem("tessera:recent:" + tenant) || "[]");
  }
  if (!store.shell) {
    store.shell = await store.client.ui("shell");
    const saved = localStorage.getItem("tessera:app-choice:" + tenant);
    const names = store.shell.apps.map((a) => a.name);
    store.app = names.includes(saved) ? saved : names[0] || null;
    loadMembers();
  }
  return store.shell;
}

async function loadMembers() {
  try {
    const data = await store.client.meta("{ members { id email name role } }");
    const out = {};
    for (const m of data.members) out[m.id] = m;
    store.members = out;
  } catch (e) {
    store.members = {};
  }
}

export async function schemaOf(object) {
  if (!store.schemas[object]) {
    store.schemas[object] = await store.client.ui("objects/" + encodeURIComponent(object));
  }
  return store.schemas[object];
}

export function objectInfo(name) {
  return ((store.shell && store.shell.objects) || []).find((o) => o.name === name);
}

export async function setLocale(locale) {
  localStorage.setItem(LOCALE_KEY, locale);
  document.documentElement.lang = locale;
  if (store.client && store.shell) {
    // The new shell first, then the switch: the page is built again in the new language.
    store.client.locale = locale;
    store.client.forget();
    const shell = await store.client.ui("shell");
    store.schemas = {};
    store.shell = shell;
  }
  store.locale = locale;
}

export function chooseApp(name) {
  store.app = name;
  localStorage.setItem("tessera:app-choice:" + store.tenant, name);
}

export function remember(object, id, title) {
  const entry = { object, id, title };
  const rest = store.recent.filter((r) => r.id !== id);
  store.recent = [entry, ...rest].slice(0, 10);
  localStorage.setItem("tessera:recent:" + store.tenant, JSON.stringify(store.recent));
}
