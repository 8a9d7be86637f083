// Converting a record (a lead into an account, a contact and an opportunity): the
// duplicate check first, then the person chooses, for each target with possible
// duplicates, between using one of them and creating a new record.
import { defineComponent, reactive, onMounted } from "vue";
import { store, t, toast, objectInfo } from "./store.js";
import { Modal, go, recordPath } from "./components.js";

export const Convert = defineComponent({
  props: { action: Object, id: String },
  emits: ["close", "done"],
  components: { Modal },
  setup(props, { emit }) {
    const state = reactive({ targets: [], use: {}, loading: true, busy: false, error: "" });
    onMounted(async () => {
      try {
        const data = await store.client.data("query M($c: String!, $id: ID!) { conversionMatches(conversion: $c, id: $id) }", { c: props.action.name, id: props.id });
        state.targets = data.conversionMatches;
        for (const target of state.targets) state.use[target.target] = "";
      } catch (e) {
        state.error = e.message;
      } finally {
        state.loading = false;
      }
    });
    async function submit() {
      state.busy = true;
      state.error = "";
      const use = {};
      for (const [name, id] of Object.entries(state.use)) if (id) use[name] = id;
      try {
        const data = await store.client.data("mutation C($c: String!, $id: ID!, $use: JSON) { convertRecord(conversion: $c, id: $id, use: $use) }", { c: props.action.name, id: props.id, use });
        toast(t("convert.done"));
        const made = Object.values(data.convertRecord);
        const last = made[made.length - 1];
        emit("done");
        if (last) go(recordPath(last.object, last.id));
      } catch (e) {
        state.error = e.message;
      } finally {
        state.busy = false;
      }
    }
    const label = (name) => (objectInfo(name) || { label: name }).label;
    return { state, submit, label, t };
  },
  template: `<Modal :title="action.label" @close="$emit('close')">
    <p v-if="state.loading" class="muted">{{ t('loading') }}</p>
    <form v-else class="form convert" @submit.prevent="submit">
      <section v-for="target in state.targets" :key="target.target" class="panel" :data-target="target.target">
        <h2>{{ label(target.object) }}</h2>
        <template v-if="target.matches.length">
          <p class="notice">{{ t('convert.duplicates') }}</p>
          <label v-for="m in target.matches" :key="m.id" class="choice"><input type="radio" :name="target.target" :value="m.id" v-model="state.use[target.target]">
            {{ t('convert.merge') }}: <b>{{ m.title }}</b></label>
          <label class="choice"><input type="radio" :name="target.target" value="" v-model="state.use[target.target]"> {{ t('convert.create') }}</label>
        </template>
        <p v-else class="muted">{{ t('convert.create') }}</p>
      </section>
      <p v-if="state.error" class="error" role="alert">{{ state.error }}</p>
      <footer><button type="button" @click="$emit('close')">{{ t('record.cancel') }}</button>
        <button class="primary" :disabled="state.busy">{{ t('convert.submit') }}</button></footer>
    </form>
  </Modal>`,
});
