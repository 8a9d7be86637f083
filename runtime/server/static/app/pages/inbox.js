// The approvals inbox: what waits for me or my role, oldest first; approve or reject
// with a comment; the record one click away.
import { defineComponent, reactive, onMounted } from "vue";
import { store, t, toast, schemaOf } from "../store.js";
import { go, recordPath } from "../components.js";
import { localized } from "../format.js";

export default defineComponent({
  setup() {
    const state = reactive({ tasks: [], comments: {}, labels: {}, error: "", loaded: false });
    const fieldLabel = (object, field) => {
      const s = state.labels[object];
      return (s && s.fields[field] && s.fields[field].label) || field;
    };
    async function load() {
      try {
        const data = await store.client.data("{ approvalsInbox { id dueAt delegatedFrom approval { id label objectName recordId stepName submittedAt comment changes } } }");
        state.tasks = data.approvalsInbox;
        // Field labels for the changes a resubmission shows.
        for (const name of new Set(state.tasks.map((t) => t.approval.objectName))) {
          schemaOf(name).then((s) => (state.labels[name] = s)).catch(() => null);
        }
      } catch (e) {
        state.error = e.message;
      }
      state.loaded = true;
    }
    async function decide(task, verb) {
      try {
        await store.client.data(`mutation D($id: ID!, $c: String) { ${verb}Task(id: $id, comment: $c) { status } }`, { id: task.id, c: state.comments[task.id] || null });
        toast(t("inbox.done"));
        await load();
      } catch (e) {
        toast(e.message, "error");
      }
    }
    onMounted(load);
    return { state, decide, go, recordPath, t, store, localized, fieldLabel };
  },
  template: `<section class="inbox"><h1>{{ t('inbox.title') }}</h1>
    <p v-if="state.error" class="error">{{ state.error }}</p>
    <p v-if="state.loaded && !state.tasks.length" class="muted">{{ t('inbox.empty') }}</p>
    <article v-for="task in state.tasks" :key="task.id" class="panel approval" :data-task="task.id">
      <h2><a :href="recordPath(task.approval.objectName, task.approval.recordId)" @click.prevent="go(recordPath(task.approval.objectName, task.approval.recordId))">{{ localized(task.approval.label) }}</a></h2>
      <p class="muted small">{{ t('inbox.step') }}: {{ task.approval.stepName }} · {{ new Date(task.approval.submittedAt).toLocaleString(store.locale) }}</p>
      <p v-if="task.approval.comment">{{ task.approval.comment }}</p>
      <ul v-if="task.approval.changes && task.approval.changes.length" class="plain small"><li v-for="c in task.approval.changes" :key="c.field">{{ fieldLabel(task.approval.objectName, c.field) }}: {{ c.before ?? '—' }} → {{ c.after ?? '—' }}</li></ul>
      <textarea v-model="state.comments[task.id]" :placeholder="t('inbox.comment')" rows="2" :aria-label="t('inbox.comment')"></textarea>
      <footer><button type="button" class="danger" @click="decide(task, 'reject')">{{ t('inbox.reject') }}</button>
        <button type="button" class="primary" @click="decide(task, 'approve')">{{ t('inbox.approve') }}</button></footer>
    </article>
  </section>`,
});
