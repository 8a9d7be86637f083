// A kanban by any picklist: a column per value with its count and its total in the
// tenant's currency (from the server's aggregates, over every record, not one page), a
// drag only where the picklist's state machine lets this person move it, and records a
// pending approval locks shown locked (they cannot be dragged).
import { defineComponent, reactive, ref, computed, watch } from "vue";
import { store, t, toast, schemaOf } from "../store.js";
import { listQuery } from "../queries.js";
import { Lock, FieldValue, go, recordPath } from "../components.js";
import { money } from "../format.js";

export default defineComponent({
  props: { object: String, field: String },
  components: { FieldValue },
  setup(props) {
    const schema = ref(null);
    const state = reactive({ cards: [], totals: {}, locked: new Set(), dragging: null, over: null, error: "", view: null });
    const board = computed(() => schema.value && schema.value.kanbans.find((k) => k.field === props.field));
    const title = computed(() => schema.value && schema.value.fields[schema.value.titleField]);
    const extra = computed(() => {
      if (!schema.value) return [];
      const s = schema.value;
      return Object.values(s.fields).filter((f) => f.relation && f.target).slice(0, 1).map((f) => f.name);
    });

    async function load() {
      schema.value = await schemaOf(props.object);
      const s = schema.value;
      const b = board.value;
      if (!b) return;
      const view = new URL(location.href).searchParams.get("view");
      state.view = s.views.find((v) => v.name === view) || null;
      const columns = [s.titleField, b.field, ...(b.sum ? [b.sum] : []), ...extra.value];
      const { query, variables } = listQuery(s, columns, { view: state.view && state.view.view, first: 500, orderBy: [{ updatedAt: "DESC" }] });
      const sum = b.sumApi ? ` sum { ${b.sumApi} }` : "";
      const args = state.view && state.view.view ? `, view: "${state.view.view}"` : "";
      try {
        const [data, totals] = await Promise.all([
          store.client.data(query, variables),
          store.client.data(`{ ${s.list}Aggregate(groupBy: [{field: ${b.api}}], first: 200${args}) { key { ${b.api} } count${sum} } }`),
        ]);
        state.cards = data[s.list].nodes;
        const out = {};
        for (const g of totals[s.list + "Aggregate"]) {
          const v = g.sum && g.sum[b.sumApi];
          out[g.key[b.api]] = { count: g.count, sum: v == null ? null : typeof v === "object" ? v.amount : v };
        }
        state.totals = out;
        const ids = state.cards.map((c) => c.id);
        const locked = ids.length ? await store.client.data("query L($o: String!, $ids: [ID!]!) { lockedRecords(objectName: $o, ids: $ids) }", { o: props.object, ids }) : { lockedRecords: [] };
        state.locked = new Set(locked.lockedRecords);
      } catch (e) {
        state.error = e.message;
      }
    }

    function cardsOf(value) {
      return state.cards.filter((c) => c[board.value.api] === value);
    }

    function allowed(card, to) {
      const from = card[board.value.api];
      return board.value.editable && !state.locked.has(card.id) && from !== to && (board.value.moves[from] || []).includes(to);
    }

    function start(card, event) {
      if (state.locked.has(card.id)) {
        event.preventDefault();
        toast(t("kanban.locked"), "error");
        return;
      }
      state.dragging = card;
      event.dataTransfer.setData("text/plain", card.id);
    }

    async function drop(to) {
      const card = state.dragging;
      state.dragging = null;
      state.over = null;
      if (!card || card[board.value.api] === to) return;
      if (!allowed(card, to)) {
        toast(t("kanban.not_allowed"), "error");
        return;
      }
      await move(card, to);
    }

    async function move(card, to) {
      const s = schema.value;
      try {
        await store.client.data(`mutation M($id: ID!, $v: Int, $input: ${s.type}UpdateInput!) { update${s.type}(id: $id, rowVersion: $v, input: $input) { id rowVersion } }`,
          { id: card.id, v: card.rowVersion, input: { [board.value.api]: to } });
        toast(t("record.saved"));
      } catch (e) {
        toast(e.message, "error");
      }
      await load();
    }

    function total(value) {
      const entry = state.totals[value];
      if (!entry) return "";
      return entry.sum == null ? "" : money(entry.sum, board.value.currency);
    }

    watch(() => [props.object, props.field], load);
    load().catch((e) => (state.error = e.message));
    return { schema, state, board, title, extra, cardsOf, allowed, start, drop, move, total, go, recordPath, t, store };
  },
  template: `<section class="kanban-page" v-if="schema && board">
    <header class="page-head"><h1>{{ schema.plural }} · {{ board.label }}</h1><span class="spacer"></span>
      <button type="button" @click="go('/app/' + store.tenant + '/o/' + schema.name)">{{ t('list.table') }}</button></header>
    <p v-if="state.error" class="error" role="alert">{{ state.error }}</p>
    <div class="board">
      <div v-for="col in board.columns" :key="col.value" class="column" :data-value="col.value"
           :class="{over: state.over === col.value, refused: state.dragging && state.over === col.value && !allowed(state.dragging, col.value)}"
           @dragover.prevent="state.over = col.value" @dragleave="state.over = null" @drop.prevent="drop(col.value)">
        <header><b>{{ col.label }}</b> <span class="muted">{{ (state.totals[col.value] || {count: 0}).count }}</span>
          <div class="total" v-if="board.sum">{{ t('kanban.total') }} {{ total(col.value) }}</div></header>
        <article v-for="card in cardsOf(col.value)" :key="card.id" class="card" :class="{locked: state.locked.has(card.id)}"
                 :draggable="!state.locked.has(card.id)" @dragstart="start(card, $event)" :data-id="card.id">
          <a :href="recordPath(schema.name, card.id)" @click.prevent="go(recordPath(schema.name, card.id))"><Lock v-if="state.locked.has(card.id)" :title="t('kanban.locked')"/> <FieldValue :field="title" :record="card"/></a>
          <div v-if="board.sum" class="muted"><FieldValue :field="schema.fields[board.sum]" :record="card"/></div>
          <div v-for="e in extra" :key="e" class="muted small"><FieldValue :field="schema.fields[e]" :record="card"/></div>
          <select class="move" v-if="board.editable && !state.locked.has(card.id) && (board.moves[card[board.api]] || []).length" @change="move(card, $event.target.value)" :aria-label="board.label">
            <option value="">→</option>
            <option v-for="v in board.moves[card[board.api]]" :key="v" :value="v">{{ (board.columns.find((c) => c.value === v) || {label: v}).label }}</option>
          </select>
        </article>
      </div>
    </div>
  </section>
  <p v-else-if="state.error" class="error">{{ state.error }}</p>
  <p v-else class="muted">{{ t('loading') }}</p>`,
});
