// The web app: a router over /app/... paths, the shell around every page (app
// switcher, navigation from the pack's metadata, global search, quick create, inbox,
// language switch), and the pages. Vue's browser build compiles the templates here.
import { createApp, defineComponent, reactive, computed, h, watch } from "vue";
import { store, t, enter, setLocale, chooseApp } from "./store.js";
import { session, signOut, ApiError } from "./api.js";
import { go, QuickCreate } from "./components.js";
import SignIn from "./pages/signin.js";
import Home from "./pages/home.js";
import List from "./pages/list.js";
import Kanban from "./pages/kanban.js";
import Record from "./pages/record.js";
import Inbox from "./pages/inbox.js";
import Search from "./pages/search.js";

performance.mark("tessera:boot"); // the app's modules are loaded and running

const route = reactive({ path: location.pathname, query: Object.fromEntries(new URLSearchParams(location.search)) });
window.addEventListener("popstate", sync);
window.addEventListener("tessera:navigate", sync);
function sync() {
  route.path = location.pathname;
  route.query = Object.fromEntries(new URLSearchParams(location.search));
}

// /app/{tenant}/{page}/... → the page and its props.
function match(path) {
  const parts = path.replace(/^\/app\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (!parts.length || parts[0] === "signin") return { page: "signin" };
  const [tenant, page, a, b, c] = parts;
  if (page === "o" && b === "kanban") return { tenant, page: "kanban", props: { object: a, field: c } };
  if (page === "o") return { tenant, page: "list", props: { object: a, query: route.query } };
  if (page === "r") return { tenant, page: "record", props: { object: a, id: b } };
  if (page === "inbox") return { tenant, page: "inbox" };
  if (page === "search") return { tenant, page: "search", props: { q: route.query.q || "" } };
  return { tenant, page: "home" };
}

const PAGES = { home: Home, list: List, kanban: Kanban, record: Record, inbox: Inbox, search: Search };

const Shell = defineComponent({
  components: { QuickCreate },
  setup() {
    const ui = reactive({ menu: false, search: "", create: null, creating: false, error: "" });
    const current = computed(() => match(route.path));
    const app = computed(() => (store.shell ? store.shell.apps.find((a) => a.name === store.app) : null));
    const creatable = computed(() => (store.shell ? store.shell.objects.filter((o) => o.can.create) : []));

    async function open() {
      const m = current.value;
      if (m.page === "signin") return;
      if (!session(m.tenant)) {
        go(`/app/signin?tenant=${encodeURIComponent(m.tenant)}&next=${encodeURIComponent(route.path + location.search)}`);
        return;
      }
      try {
        await enter(m.tenant);
        performance.mark("tessera:shell");
        document.documentElement.lang = store.locale;
      } catch (e) {
        if (e instanceof ApiError && e.code === "UNAUTHENTICATED") go(`/app/signin?tenant=${encodeURIComponent(m.tenant)}`);
        else ui.error = e.message;
      }
    }
    watch(() => route.path, () => { ui.menu = false; open(); }, { immediate: true });

    function itemPath(item) {
      const base = `/app/${store.tenant}/o/${item.object}`;
      if (item.kanban) return `${base}/kanban/${item.kanban}${item.view ? "?view=" + item.view : ""}`;
      return item.view ? `${base}?view=${item.view}` : base;
    }
    function isActive(item) {
      return location.pathname + location.search === itemPath(item);
    }
    function search() {
      if (ui.search.trim()) go(`/app/${store.tenant}/search?q=${encodeURIComponent(ui.search.trim())}`);
    }
    async function out() {
      await signOut(store.tenant);
      store.shell = null;
      go(`/app/signin?tenant=${store.tenant}`);
    }
    function created(object, id) {
      ui.creating = false;
      go(`/app/${store.tenant}/r/${object}/${id}`);
    }
    return { ui, current, app, creatable, store, t, go, itemPath, isActive, search, out, setLocale, chooseApp, created, PAGES };
  },
  template: `<SignIn v-if="current.page === 'signin'" :tenant="$root.query.tenant" :next="$root.query.next"/>
  <div v-else-if="store.shell" class="shell" :class="{open: ui.menu}">
    <header class="topbar">
      <button class="menu-button" type="button" @click="ui.menu = !ui.menu" :aria-label="t('nav.apps')">☰</button>
      <a class="brand" :href="'/app/' + store.tenant + '/home'" @click.prevent="go('/app/' + store.tenant + '/home')">Tessera</a>
      <select class="app-switcher" :value="store.app" @change="chooseApp($event.target.value)" :aria-label="t('nav.apps')">
        <option v-for="a in store.shell.apps" :key="a.name" :value="a.name">{{ a.label }}</option></select>
      <form class="global-search" @submit.prevent="search" role="search"><input type="search" v-model="ui.search" :placeholder="t('search.placeholder')" :aria-label="t('nav.search')"></form>
      <button type="button" class="icon" @click="ui.creating = true" :title="t('create.quick')" :aria-label="t('create.quick')">＋</button>
      <a class="icon" :href="'/app/' + store.tenant + '/inbox'" @click.prevent="go('/app/' + store.tenant + '/inbox')" :title="t('nav.inbox')">✓</a>
      <button type="button" class="lang" @click="setLocale(store.locale === 'zh-CN' ? 'en' : 'zh-CN')" :aria-label="t('language')">{{ store.locale === 'zh-CN' ? 'EN' : '中文' }}</button>
      <button type="button" class="link signout" @click="out">{{ t('signout') }}</button>
    </header>
    <nav class="sidenav" :aria-label="app ? app.label : ''">
      <a :href="'/app/' + store.tenant + '/home'" @click.prevent="go('/app/' + store.tenant + '/home')" :class="{active: current.page === 'home'}">{{ t('nav.home') }}</a>
      <a :href="'/app/' + store.tenant + '/inbox'" @click.prevent="go('/app/' + store.tenant + '/inbox')" :class="{active: current.page === 'inbox'}">{{ t('nav.inbox') }}</a>
      <template v-if="app"><h3>{{ app.label }}</h3>
        <a v-for="(item, i) in app.items" :key="i" :href="itemPath(item)" @click.prevent="go(itemPath(item))" :class="{active: isActive(item)}">{{ item.label }}</a></template>
    </nav>
    <main class="content">
      <component :is="PAGES[current.page]" v-bind="current.props || {}" :key="route.path + '|' + store.locale"/>
    </main>
    <nav class="bottombar">
      <a :href="'/app/' + store.tenant + '/home'" @click.prevent="go('/app/' + store.tenant + '/home')">{{ t('nav.home') }}</a>
      <a :href="'/app/' + store.tenant + '/inbox'" @click.prevent="go('/app/' + store.tenant + '/inbox')">{{ t('nav.inbox') }}</a>
      <button type="button" @click="ui.creating = true">＋</button>
      <button type="button" @click="ui.menu = !ui.menu">☰</button>
    </nav>
    <div v-if="ui.creating" class="backdrop" @click.self="ui.creating = false"><div class="modal"><header><h2>{{ t('create.quick') }}</h2></header>
      <ul class="plain picks"><li v-for="o in creatable" :key="o.name"><button type="button" @click="ui.create = o.name; ui.creating = false">{{ o.label }}</button></li></ul></div></div>
    <QuickCreate v-if="ui.create" :object="ui.create" @close="ui.create = null" @created="(id) => { const o = ui.create; ui.create = null; go('/app/' + store.tenant + '/r/' + o + '/' + id); }"/>
  </div>
  <p v-else-if="ui.error" class="error">{{ ui.error }}</p>
  <p v-else class="boot">{{ t('loading') }}</p>
  <div class="toasts" aria-live="polite"><p v-for="m in store.toasts" :key="m.id" class="toast" :class="m.kind" role="status">{{ m.message }}</p></div>`,
});

const root = createApp({
  components: { Shell, SignIn },
  setup() {
    return { query: computed(() => route.query), route };
  },
  template: `<Shell/>`,
});
root.component("SignIn", SignIn);
root.config.globalProperties.route = route;
root.mount("#app");
