// A list view: server-side pages, the person's filter (AND/OR groups, through
// relations, relative dates), sort, group-by with counts and sums, a column chooser,
// inline edit, bulk edit / delete / transfer of selected or all filtered records, and
// saved views (mine, everyone's, a role's).
import { defineComponent, reactive, ref, computed, watch, nextTick } from "vue";
import { store, t, toast, schemaOf } from "../store.js";
import { listQuery, groupQuery } from "../queries.js";
import { Lock, FieldValue, FieldEditor, FilterBuilder, Modal, QuickCreate, filterOf, editable, go, recordPath, mutationName } from "../components.js";
import { money, show } from "../format.js";

const BULK = 500;

export default defineComponent({
  props: { object: String, query: Object },
  components: { Lock, FieldValue, FieldEditor, FilterBuilder, Modal, QuickCreate },
  setup(props) {
    const schema = ref(null);
    const views = ref([]);
    const state = reactive({
      view: null, columns: [], orderBy: [], groupBy: null, shownGroup: null, base: null,
      filter: { any: false, items: [] }, related: {}, search: "",
      cursors: [null], page: 0, rows: [], total: 0, hasNext: false, groups: [], money: null,
      selected: new Set(), allFiltered: false, loading: false, error: "", locked: new Set(),
      editing: null, editValue: null, showFilter: false, showColumns: false,
      modal: null, bulkField: "", bulkValue: null, owner: "", viewName: "", visibility: "private", role: "",
    });
    const applied = ref(null);

    const fields = computed(() => (schema.value ? Object.values(schema.value.fields) : []));
    const editableFields = computed(() => fields.value.filter((f) => !f.readOnly && f.widget !== "owner"));
    // Roles a view can be shared with: one's own and those below it (admins: any).
    const roles = computed(() => {
      const me = (store.shell && store.shell.me) || {};
      const all = (store.shell && store.shell.roles) || [];
      return me.admin ? all : all.filter((r) => (me.roles || []).includes(r.name));
    });

    function currentFilter() {
      const mine = applied.value;
      if (state.base && mine) return { and: [state.base, mine] };
      return state.base || mine || null;
    }

    function useView(v) {
      state.view = v;
      const d = v.definition || {};
      state.columns = [...(d.columns || [])];
      state.orderBy = d.orderBy || [];
      state.groupBy = d.groupBy || null;
      state.base = d.filter || null;
      state.filter = { any: false, items: [] };
      applied.value = null;
      const url = new URL(location.href);
      url.searchParams.set("view", v.id ? "saved:" + v.id : v.name);
      history.replaceState({}, "", url);
      reload();
    }

    function reload() {
      state.cursors = [null];
      state.page = 0;
      state.selected = new Set();
      state.allFiltered = false;
      fetchPage();
    }

    async function fetchPage() {
      const s = schema.value;
      if (!s || !state.view) return;
      state.loading = true;
      state.error = "";
      let orderBy = state.orderBy;
      if (state.groupBy) {
        const api = s.fields[state.groupBy].api;
        orderBy = [{ [api]: "ASC" }, ...orderBy.filter((o) => !(api in o))];
      }
      const common = { view: state.view.kind === "metadata" ? state.view.definition.view : null, filter: currentFilter(), search: state.search };
      try {
        const { query, variables } = listQuery(s, state.columns, { ...common, orderBy, after: state.cursors[state.page], first: 50 });
        // The page and its group headers together: no header shows without its count.
        const g = state.groupBy ? groupQuery(s, state.groupBy, common) : null;
        const [data, groups] = await Promise.all([
          store.client.data(query, variables),
          g ? store.client.data(g.query, g.variables) : null,
        ]);
        const page = data[s.list];
        state.groups = groups ? groups[s.list + "Aggregate"] : [];
        state.money = g ? g.money : null;
        state.shownGroup = state.groupBy;
        state.rows = page.nodes;
        state.total = page.totalCount;
        state.hasNext = page.pageInfo.hasNextPage;
        state.cursors[state.page + 1] = page.pageInfo.endCursor;
        markLocked();
        // For benchmarks/web_app.py: the page's rows are on screen.
        nextTick(() => performance.mark("tessera:list-rendered"));
      } catch (e) {
        state.error = e.message;
        state.rows = [];
        state.total = 0;
      } finally {
        state.loading = false;
      }
    }

    async function markLocked() {
      try {
        const ids = state.rows.map((r) => r.id);
        const data = ids.length ? await store.client.data("query L($o: String!, $ids: [ID!]!) { lockedRecords(objectName: $o, ids: $ids) }", { o: props.object, ids }) : { lockedRecords: [] };
        state.locked = new Set(data.lockedRecords);
      } catch (e) {
        state.locked = new Set();
      }
    }

    async function load() {
      // The UI schema and the views at once (two round trips in parallel, not in turn).
      const [compiled, data] = await Promise.all([
        schemaOf(props.object),
        store.client.meta("query V($o: String!) { views(object: $o) { id name label kind visibility role mine definition } }", { o: props.object }),
      ]);
      schema.value = compiled;
      views.value = data.views;
      const wanted = (props.query && props.query.view) || new URL(location.href).searchParams.get("view");
      const found = views.value.find((v) => (v.id ? "saved:" + v.id : v.name) === wanted) || views.value[0];
      useView(found);
    }

    function groupHead(row, i) {
      // The grouping the rows on screen were fetched with (the picker may be ahead).
      if (!state.shownGroup) return null;
      const f = schema.value.fields[state.shownGroup];
      const value = row[f.api];
      if (i > 0 && state.rows[i - 1][f.api] === value) return null;
      const g = state.groups.find((x) => x.key[f.api] === value) || { count: "?" };
      let sum = "";
      if (state.money && g.sum && g.sum[state.money.api] != null) {
        const v = g.sum[state.money.api];
        sum = " · " + (typeof v === "object" ? money(v.amount, v.currencyCode) : money(v, state.money.currency));
      }
      return `${show(f, row) || "—"} (${g.count}${sum})`;
    }

    function sortBy(name) {
      const api = schema.value.fields[name].api;
      if (!schema.value.fields[name].select || schema.value.fields[name].relation) return;
      const current = state.orderBy[0] && state.orderBy[0][api];
      state.orderBy = [{ [api]: current === "ASC" ? "DESC" : "ASC" }];
      reload();
    }

    function applyFilter() {
      applied.value = filterOf([schema.value, state.related], state.filter);
      state.showFilter = false;
      reload();
    }

    function clearFilter() {
      state.filter = { any: false, items: [] };
      applied.value = null;
      reload();
    }

    function toggleColumn(name) {
      const i = state.columns.indexOf(name);
      if (i >= 0) state.columns.splice(i, 1);
      else state.columns.push(name);
      fetchPage();
    }

    function startEdit(row, name) {
      const f = schema.value.fields[name];
      if (!f || f.readOnly || f.widget === "owner" || !schema.value.can.update || state.locked.has(row.id)) return;
      state.editing = { id: row.id, name };
      state.editValue = editable(f, row);
    }

    async function saveEdit(row) {
      const s = schema.value;
      const f = s.fields[state.editing.name];
      const name = "update" + s.type;
      try {
        await store.client.data(`mutation U($id: ID!, $v: Int, $input: ${s.type}UpdateInput!) { ${name}(id: $id, rowVersion: $v, input: $input) { id } }`,
          { id: row.id, v: row.rowVersion, input: { [f.api]: state.editValue } });
        toast(t("record.saved"));
        state.editing = null;
        fetchPage();
      } catch (e) {
        toast(e.message, "error");
      }
    }

    function toggle(id) {
      const next = new Set(state.selected);
      next.has(id) ? next.delete(id) : next.add(id);
      state.selected = next;
      state.allFiltered = false;
    }

    function toggleAll() {
      state.selected = state.selected.size === state.rows.length ? new Set() : new Set(state.rows.map((r) => r.id));
      state.allFiltered = false;
    }

    // The records a bulk action applies to: the selection, or every filtered record.
    async function targets() {
      if (!state.allFiltered) return [...state.selected];
      const s = schema.value;
      const { query, variables } = listQuery(s, [], { view: state.view.kind === "metadata" ? state.view.definition.view : null, filter: currentFilter(), search: state.search, first: BULK });
      const data = await store.client.data(query, variables);
      return data[s.list].nodes.map((n) => n.id);
    }

    async function bulk(kind) {
      const s = schema.value;
      try {
        const ids = await targets();
        if (!ids.length) return;
        if (kind === "edit") {
          const f = s.fields[state.bulkField];
          await store.client.data(`mutation B($inputs: [${s.type}UpdateManyInput!]!) { ${mutationName(s, "update", true)}(inputs: $inputs) { id } }`,
            { inputs: ids.map((id) => ({ id, input: { [f.api]: state.bulkValue } })) });
        } else if (kind === "delete") {
          if (!confirm(t("list.confirm_delete", { n: ids.length }))) return;
          await store.client.data(`mutation D($ids: [ID!]!) { ${mutationName(s, "delete", true)}(ids: $ids) { id } }`, { ids });
        } else if (kind === "transfer") {
          await store.client.data(`mutation T($ids: [ID!]!, $owner: ID!) { ${mutationName(s, "transfer", true)}(ids: $ids, ownerId: $owner) { id } }`, { ids, owner: state.owner });
        }
        toast(t("record.saved"));
        state.modal = null;
        reload();
      } catch (e) {
        toast(e.message, "error");
      }
    }

    async function saveView() {
      const definition = { columns: state.columns, orderBy: state.orderBy.length ? state.orderBy : null, groupBy: state.groupBy, filter: currentFilter() };
      try {
        const data = await store.client.meta(
          "mutation S($o: String!, $n: String!, $d: JSON!, $vis: String!, $r: String) { saveView(object: $o, name: $n, definition: $d, visibility: $vis, role: $r) { id name label kind visibility role mine definition } }",
          { o: props.object, n: state.viewName, d: definition, vis: state.visibility, r: state.visibility === "role" ? state.role : null });
        views.value.push(data.saveView);
        state.modal = null;
        useView(data.saveView);
      } catch (e) {
        toast(e.message, "error");
      }
    }

    async function deleteView() {
      try {
        await store.client.meta("mutation D($id: String!) { deleteView(id: $id) }", { id: state.view.id });
        views.value = views.value.filter((v) => v !== state.view);
        useView(views.value[0]);
      } catch (e) {
        toast(e.message, "error");
      }
    }

    // The kanban of the same view: by the picklist the view groups by, else the one
    // with money to total, else the first.
    function toKanban() {
      const s = schema.value;
      const board = s.kanbans.find((k) => k.field === state.groupBy) || s.kanbans.find((k) => k.sum) || s.kanbans[0];
      const view = state.view && state.view.kind === "metadata" && state.view.definition.view;
      go(`/app/${store.tenant}/o/${s.name}/kanban/${board.field}${view ? "?view=" + view : ""}`);
    }

    function next() { state.page += 1; fetchPage(); }
    function previous() { state.page = Math.max(0, state.page - 1); fetchPage(); }
    let timer = null;
    function searched() { clearTimeout(timer); timer = setTimeout(reload, 300); }

    watch(() => props.object, load);
    load().catch((e) => (state.error = e.message));
    return { schema, views, state, applied, fields, editableFields, roles, useView, sortBy, applyFilter, clearFilter, toggleColumn,
      startEdit, saveEdit, toggle, toggleAll, bulk, saveView, deleteView, next, previous, searched, groupHead, go, recordPath, t, store, reload, toKanban };
  },
  template: `<section class="list" v-if="schema">
    <header class="page-head">
      <h1>{{ schema.plural }}</h1>
      <select class="views" :value="state.view && (state.view.id || state.view.name)" @change="useView(views.find((v) => (v.id || v.name) === $event.target.value))" aria-label="view">
        <option v-for="v in views" :key="v.id || v.name" :value="v.id || v.name">{{ v.label }}</option>
      </select>
      <span class="count" data-testid="total">{{ t('list.records', {n: state.total}) }}</span>
      <span class="spacer"></span>
      <button v-if="schema.kanbans.length" type="button" @click="toKanban">{{ t('list.kanban') }}</button>
      <button v-if="schema.can.create" class="primary" type="button" @click="state.modal = 'create'">+ {{ t('record.add') }}</button>
    </header>
    <div class="toolbar">
      <input type="search" v-model="state.search" @input="searched" :placeholder="t('nav.search')" aria-label="search">
      <button type="button" :class="{active: applied}" @click="state.showFilter = !state.showFilter">{{ t('list.filter') }}</button>
      <button type="button" @click="state.showColumns = !state.showColumns">{{ t('list.columns') }}</button>
      <label class="inline">{{ t('list.group_by') }}
        <select v-model="state.groupBy" @change="reload"><option :value="null">{{ t('list.none') }}</option>
          <option v-for="f in fields.filter((f) => ['picklist', 'boolean'].includes(f.display) || f.widget === 'owner')" :key="f.name" :value="f.name">{{ f.label }}</option></select></label>
      <button type="button" @click="state.modal = 'save'">{{ t('list.save_view') }}</button>
      <button v-if="state.view && state.view.mine" type="button" @click="deleteView">{{ t('list.delete_view') }}</button>
    </div>
    <div v-if="state.showFilter" class="panel filter-panel">
      <FilterBuilder :schema="schema" :group="state.filter" :related="state.related"/>
      <div class="panel-actions"><button type="button" @click="clearFilter">{{ t('list.clear') }}</button><button class="primary" type="button" @click="applyFilter">{{ t('list.apply') }}</button></div>
    </div>
    <div v-if="state.showColumns" class="panel columns-panel">
      <label v-for="f in fields" :key="f.name"><input type="checkbox" :checked="state.columns.includes(f.name)" @change="toggleColumn(f.name)"> {{ f.label }}</label>
    </div>
    <div v-if="state.selected.size" class="bulkbar">
      <span>{{ state.allFiltered ? t('list.selected', {n: Math.min(state.total, 500)}) : t('list.selected', {n: state.selected.size}) }}</span>
      <button v-if="!state.allFiltered && state.total > state.rows.length && state.selected.size === state.rows.length" type="button" class="link" @click="state.allFiltered = true">{{ t('list.select_all_filtered', {n: state.total}) }}</button>
      <button v-if="schema.can.update" type="button" @click="state.modal = 'bulk'">{{ t('list.bulk_edit') }}</button>
      <button v-if="schema.can.update && fields.some((f) => f.widget === 'owner')" type="button" @click="state.modal = 'transfer'">{{ t('list.transfer') }}</button>
      <button v-if="schema.can.delete" type="button" class="danger" @click="bulk('delete')">{{ t('list.bulk_delete') }}</button>
    </div>
    <p v-if="state.error" class="error" role="alert">{{ state.error }}</p>
    <div class="table-wrap">
      <table class="records">
        <thead><tr><th class="check"><input type="checkbox" :checked="state.rows.length && state.selected.size === state.rows.length" @change="toggleAll" aria-label="select all"></th>
          <th v-for="c in state.columns" :key="c" @click="sortBy(c)">{{ schema.fields[c] && schema.fields[c].label }}
            <span v-if="schema.fields[c] && state.orderBy[0] && state.orderBy[0][schema.fields[c].api]">{{ state.orderBy[0][schema.fields[c].api] === 'ASC' ? '▲' : '▼' }}</span></th></tr></thead>
        <tbody>
          <template v-for="(row, i) in state.rows" :key="row.id">
            <tr v-if="groupHead(row, i)" class="group-row"><td :colspan="state.columns.length + 1">{{ groupHead(row, i) }}</td></tr>
            <tr :class="{locked: state.locked.has(row.id)}">
              <td class="check"><input type="checkbox" :checked="state.selected.has(row.id)" @change="toggle(row.id)" aria-label="select"></td>
              <td v-for="(c, j) in state.columns" :key="c" :data-label="schema.fields[c] && schema.fields[c].label" @dblclick="startEdit(row, c)">
                <template v-if="state.editing && state.editing.id === row.id && state.editing.name === c">
                  <form class="inline-edit" @submit.prevent="saveEdit(row)" @keydown.esc="state.editing = null">
                    <FieldEditor :field="schema.fields[c]" v-model="state.editValue"/><button class="primary small">✓</button></form>
                </template>
                <a v-else-if="j === 0" :href="recordPath(schema.name, row.id)" @click.prevent="go(recordPath(schema.name, row.id))"><Lock v-if="state.locked.has(row.id)" :title="t('record.locked')"/> <FieldValue :field="schema.fields[c]" :record="row"/></a>
                <FieldValue v-else-if="schema.fields[c]" :field="schema.fields[c]" :record="row"/>
              </td>
            </tr>
          </template>
          <tr v-if="!state.rows.length && !state.loading"><td :colspan="state.columns.length + 1" class="empty">{{ t('list.empty') }}</td></tr>
        </tbody>
      </table>
    </div>
    <footer class="pager"><button type="button" :disabled="state.page === 0" @click="previous">{{ t('list.previous') }}</button>
      <span>{{ t('list.page', {n: state.page + 1}) }}</span>
      <button type="button" :disabled="!state.hasNext" @click="next">{{ t('list.next') }}</button></footer>
    <QuickCreate v-if="state.modal === 'create'" :object="schema.name" @close="state.modal = null" @created="(id) => go(recordPath(schema.name, id))"/>
    <Modal v-if="state.modal === 'bulk'" :title="t('list.bulk_edit')" @close="state.modal = null">
      <form class="form" @submit.prevent="bulk('edit')">
        <label class="field"><span>{{ t('list.field') }}</span>
          <select v-model="state.bulkField" required @change="state.bulkValue = null"><option value="" disabled>—</option>
            <option v-for="f in editableFields" :key="f.name" :value="f.name">{{ f.label }}</option></select></label>
        <FieldEditor v-if="state.bulkField" :field="schema.fields[state.bulkField]" v-model="state.bulkValue"/>
        <footer><button class="primary">{{ t('record.save') }}</button></footer></form></Modal>
    <Modal v-if="state.modal === 'transfer'" :title="t('list.transfer')" @close="state.modal = null">
      <form class="form" @submit.prevent="bulk('transfer')">
        <select v-model="state.owner" required :aria-label="t('record.owner')"><option value="" disabled>—</option><option v-for="m in Object.values(store.members)" :key="m.id" :value="m.id">{{ m.name }}</option></select>
        <footer><button class="primary">{{ t('list.transfer') }}</button></footer></form></Modal>
    <Modal v-if="state.modal === 'save'" :title="t('list.save_view')" @close="state.modal = null">
      <form class="form" @submit.prevent="saveView">
        <label class="field"><span>{{ t('list.view_name') }}</span><input v-model="state.viewName" required maxlength="100"></label>
        <label class="field"><span>{{ t('list.visibility') }}</span><select v-model="state.visibility">
          <option value="private">{{ t('list.private') }}</option><option value="public">{{ t('list.public') }}</option><option value="role">{{ t('list.role') }}</option></select></label>
        <label v-if="state.visibility === 'role'" class="field"><span>{{ t('list.role') }}</span><select v-model="state.role"><option v-for="r in roles" :key="r.name" :value="r.name">{{ r.label }}</option></select></label>
        <footer><button class="primary">{{ t('record.save') }}</button></footer></form></Modal>
  </section>
  <p v-else-if="state.error" class="error" role="alert">{{ state.error }}</p>
  <p v-else class="muted">{{ t('loading') }}</p>`,
});
