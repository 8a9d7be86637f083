// Global search across every searchable object the person can read.
import { defineComponent, reactive, watch, onMounted } from "vue";
import { store, t } from "../store.js";
import { go, recordPath } from "../components.js";

export default defineComponent({
  props: { q: String },
  setup(props) {
    const state = reactive({ results: [], loaded: false, error: "" });
    async function load() {
      state.loaded = false;
      if (!props.q) {
        state.results = [];
        return;
      }
      try {
        const data = await store.client.data("query S($q: String!) { search(text: $q, first: 30) { objectName id title } }", { q: props.q });
        state.results = data.search;
      } catch (e) {
        state.error = e.message;
      }
      state.loaded = true;
    }
    const label = (name) => ((store.shell.objects || []).find((o) => o.name === name) || { label: name }).label;
    watch(() => props.q, load);
    onMounted(load);
    return { state, label, go, recordPath, t };
  },
  template: `<section class="search"><h1>{{ t('nav.search') }}: {{ q }}</h1>
    <p v-if="state.error" class="error">{{ state.error }}</p>
    <ul class="plain results"><li v-for="(r, i) in state.results" :key="i"><span class="chip">{{ label(r.objectName) }}</span>
      <a :href="recordPath(r.objectName, r.id)" @click.prevent="go(recordPath(r.objectName, r.id))">{{ r.title }}</a></li></ul>
    <p v-if="state.loaded && !state.results.length" class="muted">{{ t('search.nothing') }}</p>
  </section>`,
});
