// Shared pieces: a field's value and its editor, lookups, a modal, quick create and the
// filter builder. Each field renders by its compiled widget; nothing here names an object.
import { defineComponent, reactive, ref, computed, watch, onMounted, onBeforeUnmount } from "vue";
import { store, t, toast, schemaOf, objectInfo } from "./store.js";
import { show, linkOf } from "./format.js";
import { shows, locked } from "./rules.js";

export function go(path) {
  history.pushState({}, "", path);
  window.dispatchEvent(new Event("tessera:navigate"));
}

export function recordPath(object, id) {
  return `/app/${store.tenant}/r/${object}/${id}`;
}

// A padlock: a record a pending approval locks.
export const Lock = defineComponent({
  props: { title: String },
  template: `<svg class="lock" viewBox="0 0 16 16" width="14" height="14" role="img" :aria-label="title"><title>{{ title }}</title>
    <path fill="currentColor" d="M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 1 0-4 0v2z"/></svg>`,
});

export const Link = defineComponent({
  props: { to: String },
  template: `<a :href="to" @click.prevent="go(to)"><slot/></a>`,
  setup: () => ({ go }),
});

export const FieldValue = defineComponent({
  props: { field: Object, record: Object },
  components: { Link },
  setup(props) {
    const link = computed(() => linkOf(props.field, props.record));
    const text = computed(() => show(props.field, props.record));
    const color = computed(() => {
      if (props.field.display !== "picklist") return null;
      const v = (props.field.values || []).find((x) => x.value === props.record[props.field.api]);
      return v && v.color;
    });
    return { link, text, color, recordPath };
  },
  template: `<Link v-if="link" :to="recordPath(link.object, link.id)">{{ text }}</Link>
    <span v-else-if="field.display === 'picklist' && text" class="chip" :style="color ? {background: color} : null">{{ text }}</span>
    <span v-else>{{ text }}</span>`,
});

// Pick a record of ``object``: type to search, choose from the first matches.
export const LookupPicker = defineComponent({
  props: { object: String, modelValue: String, label: String },
  emits: ["update:modelValue", "picked"],
  setup(props, { emit }) {
    const text = ref(props.label || "");
    const options = ref([]);
    const open = ref(false);
    let timer = null;
    async function find() {
      const info = objectInfo(props.object);
      if (!info) return;
      const args = info.searchable && text.value
        ? `search: $q`
        : text.value ? `filter: {${info.titleApi}: {contains: $q}}` : "";
      const query = `query Pick($q: String) { ${info.list}(first: 8${args ? ", " + args : ""}) { nodes { id ${info.titleApi} } } }`;
      try {
        const data = await store.client.data(query, { q: text.value || null });
        options.value = data[info.list].nodes.map((n) => ({ id: n.id, title: n[info.titleApi] }));
        open.value = true;
      } catch (e) {
        options.value = [];
      }
    }
    function typed() {
      clearTimeout(timer);
      timer = setTimeout(find, 200);
    }
    function pick(option) {
      text.value = option.title;
      open.value = false;
      emit("update:modelValue", option.id);
      emit("picked", option);
    }
    function clear() {
      text.value = "";
      emit("update:modelValue", null);
    }
    // A value given (a related list's record) shows its record's title.
    async function titleOf(id) {
      const info = objectInfo(props.object);
      if (!info || !id || text.value) return;
      try {
        const data = await store.client.data(`query T($id: ID!) { ${info.one}(id: $id) { id ${info.titleApi} } }`, { id });
        if (data[info.one] && !text.value) text.value = data[info.one][info.titleApi];
      } catch (e) {
        text.value = "";
      }
    }
    onMounted(() => titleOf(props.modelValue));
    return { text, options, open, typed, pick, clear, find };
  },
  template: `<div class="lookup">
    <input :value="text" @input="text = $event.target.value; typed()" @focus="find" autocomplete="off">
    <button v-if="modelValue" type="button" class="link" @click="clear">×</button>
    <ul v-if="open && options.length" class="options">
      <li v-for="o in options" :key="o.id"><button type="button" @click="pick(o)">{{ o.title }}</button></li>
    </ul></div>`,
});

// The editor of one field, by its widget. v-model holds the value as the data API
// takes it (a lookup: the id; a polymorphic lookup: {object, id}; currency: {amount, currencyCode}).
export const FieldEditor = defineComponent({
  props: { field: Object, modelValue: null, label: String },
  emits: ["update:modelValue"],
  components: { LookupPicker },
  setup(props, { emit }) {
    const set = (v) => emit("update:modelValue", v);
    const members = computed(() => Object.values(store.members));
    const poly = reactive({ object: (props.modelValue && props.modelValue.object) || (props.field.targets || [])[0] });
    function setNumber(raw) {
      if (raw === "") return set(null);
      set(props.field.display === "integer" || props.field.display === "duration" ? parseInt(raw, 10) : raw);
    }
    function localDateTime(value) {
      if (!value) return "";
      const d = new Date(value);
      const pad = (n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    }
    function setDateTime(raw) {
      set(raw ? new Date(raw).toISOString() : null);
    }
    function toggle(value, on) {
      const now = new Set(props.modelValue || []);
      on ? now.add(value) : now.delete(value);
      set([...now]);
    }
    return { set, members, poly, setNumber, localDateTime, setDateTime, toggle, t };
  },
  template: `<div class="editor">
    <select v-if="field.widget === 'select'" :value="modelValue ?? ''" @change="set($event.target.value || null)">
      <option value="">—</option>
      <option v-for="v in field.values" :key="v.value" :value="v.value">{{ v.label }}</option>
    </select>
    <div v-else-if="field.widget === 'multi_select'" class="checks">
      <label v-for="v in field.values" :key="v.value"><input type="checkbox" :checked="(modelValue || []).includes(v.value)" @change="toggle(v.value, $event.target.checked)"> {{ v.label }}</label>
    </div>
    <textarea v-else-if="field.widget === 'textarea' || field.widget === 'rich_text'" :value="modelValue ?? ''" @input="set($event.target.value)" rows="3"></textarea>
    <input v-else-if="field.widget === 'number' || field.widget === 'percent' || field.widget === 'duration'" type="number" step="any" :value="modelValue ?? ''" @input="setNumber($event.target.value)">
    <input v-else-if="field.widget === 'currency'" type="number" step="0.01" :value="modelValue ? modelValue.amount : ''" @input="set($event.target.value === '' ? null : {amount: $event.target.value, currencyCode: (modelValue && modelValue.currencyCode) || field.currency})">
    <input v-else-if="field.widget === 'checkbox'" type="checkbox" :checked="!!modelValue" @change="set($event.target.checked)">
    <input v-else-if="field.widget === 'date'" type="date" :value="modelValue ?? ''" @input="set($event.target.value || null)">
    <input v-else-if="field.widget === 'datetime'" type="datetime-local" :value="localDateTime(modelValue)" @input="setDateTime($event.target.value)">
    <input v-else-if="field.widget === 'time'" type="time" :value="modelValue ?? ''" @input="set($event.target.value || null)">
    <select v-else-if="field.widget === 'owner'" :value="modelValue ?? ''" @change="set($event.target.value || null)">
      <option value="">—</option>
      <option v-for="m in members" :key="m.id" :value="m.id">{{ m.name }}</option>
    </select>
    <LookupPicker v-else-if="field.widget === 'lookup' && field.target" :object="field.target" :label="label" :modelValue="modelValue" @update:modelValue="set"/>
    <div v-else-if="field.widget === 'polymorphic_lookup'" class="poly">
      <select v-model="poly.object"><option v-for="o in field.targets" :key="o" :value="o">{{ o }}</option></select>
      <LookupPicker :object="poly.object" :label="label" :modelValue="modelValue && modelValue.id" @update:modelValue="(id) => set(id ? {object: poly.object, id} : null)"/>
    </div>
    <input v-else :type="field.widget === 'email' ? 'email' : field.widget === 'phone' ? 'tel' : field.widget === 'url' ? 'url' : 'text'" :value="modelValue ?? ''" :maxlength="field.maxLength" @input="set($event.target.value)">
  </div>`,
});

// The value a record holds for ``field``, as its editor takes it.
export function editable(field, record) {
  const value = record[field.relation || field.api] ?? record[field.api];
  if (value === undefined || value === null) return null;
  if (field.display === "lookup" || field.display === "master_detail") return typeof value === "object" ? value.id : value;
  if (field.display === "polymorphic_lookup") {
    const object = (store.shell.objects || []).find((o) => o.type === value.__typename);
    return object ? { object: object.name, id: value.id } : null;
  }
  if (field.display === "currency" && typeof value === "object") return { amount: value.amount, currencyCode: value.currencyCode };
  return value;
}

export const Modal = defineComponent({
  props: { title: String },
  emits: ["close"],
  setup(_props, { emit }) {
    const onKey = (event) => event.key === "Escape" && emit("close");
    onMounted(() => window.addEventListener("keydown", onKey));
    onBeforeUnmount(() => window.removeEventListener("keydown", onKey));
    return {};
  },
  template: `<div class="backdrop" @click.self="$emit('close')"><div class="modal" role="dialog" :aria-label="title">
    <header><h2>{{ title }}</h2><button class="link" type="button" @click="$emit('close')" aria-label="close">×</button></header>
    <slot/></div></div>`,
});

// createLead, updateLeads, transferLeads ...: the data API's mutation names.
export function mutationName(schema, verb, many) {
  return verb + (many ? schema.list.charAt(0).toUpperCase() + schema.list.slice(1) : schema.type);
}

// Create a record of ``object`` with its required and layout fields; ``preset`` fills
// fields (a related list's lookup to the page's record).
export const QuickCreate = defineComponent({
  props: { object: String, preset: Object },
  emits: ["close", "created"],
  components: { Modal, FieldEditor },
  setup(props, { emit }) {
    const schema = ref(null);
    const values = reactive({ ...(props.preset || {}) });
    const busy = ref(false);
    const error = ref("");
    const fields = computed(() => {
      if (!schema.value) return [];
      const s = schema.value;
      const names = [];
      const options = {};
      for (const tab of s.uiSchema.elements) for (const g of tab.elements) for (const c of g.elements) {
        names.push(c.options.field);
        options[c.options.field] = c.options;
      }
      const ordered = [...new Set([...Object.keys(s.fields).filter((n) => s.fields[n].required), ...names])];
      const me = store.shell && store.shell.me;
      // The layout's rules apply to the new record as it is filled in.
      return ordered
        .map((n) => s.fields[n])
        .filter((f) => f && !f.readOnly && f.widget !== "owner")
        .filter((f) => shows(options[f.name] || {}, values, me) && !locked(options[f.name] || {}, values, me));
    });
    schemaOf(props.object).then((s) => (schema.value = s));
    async function save() {
      busy.value = true;
      error.value = "";
      const s = schema.value;
      const input = {};
      const names = [...fields.value.map((f) => f.name), ...Object.keys(props.preset || {})];
      for (const name of names) {
        const f = s.fields[name];
        if (f && values[name] !== undefined && values[name] !== null && values[name] !== "") input[f.api] = values[name];
      }
      try {
        const name = "create" + s.type;
        const data = await store.client.data(`mutation Create($input: ${s.type}CreateInput!) { ${name}(input: $input) { id } }`, { input });
        toast(t("record.saved"));
        emit("created", data[name].id);
      } catch (e) {
        error.value = e.message;
      } finally {
        busy.value = false;
      }
    }
    return { schema, values, fields, save, busy, error, t };
  },
  template: `<Modal :title="schema ? t('create.title', {object: schema.label}) : ''" @close="$emit('close')">
    <form v-if="schema" class="form" @submit.prevent="save">
      <label v-for="f in fields" :key="f.name" class="field"><span>{{ f.label }}<b v-if="f.required" class="req">*</b></span>
        <FieldEditor :field="f" v-model="values[f.name]"/></label>
      <p v-if="error" class="error" role="alert">{{ error }}</p>
      <footer><button type="button" @click="$emit('close')">{{ t('record.cancel') }}</button>
        <button class="primary" :disabled="busy">{{ t('create.create') }}</button></footer>
    </form><p v-else>{{ t('loading') }}</p></Modal>`,
});

const OPS = {
  text: ["contains", "eq", "neq", "isNull", "notNull"],
  number: ["eq", "gt", "gte", "lt", "lte", "isNull", "notNull"],
  date: ["relative", "eq", "gte", "lte", "isNull", "notNull"],
  choice: ["eq", "neq", "isNull", "notNull"],
  multi: ["containsAny", "isNull", "notNull"],
  bool: ["eq"],
};
const RELATIVE = {
  today: { unit: "DAY", from: 0, to: 0 },
  last7: { unit: "DAY", from: -6, to: 0 },
  next7: { unit: "DAY", from: 0, to: 6 },
  last30: { unit: "DAY", from: -29, to: 0 },
  next30: { unit: "DAY", from: 0, to: 29 },
  this_month: { unit: "MONTH", from: 0, to: 0 },
  this_quarter: { unit: "QUARTER", from: 0, to: 0 },
};

function family(field) {
  if (!field) return "text";
  if (["integer", "decimal", "percent", "currency", "duration"].includes(field.display)) return "number";
  if (["date", "datetime"].includes(field.display)) return "date";
  if (field.display === "picklist") return "choice";
  if (field.display === "multi_picklist") return "multi";
  if (field.display === "boolean") return "bool";
  return "text";
}

// One condition → the data API's filter form. A field of a related record (``path``:
// ["account", "rating"]) nests under its relation.
function conditionFilter(schemas, c) {
  const [first, second] = c.path;
  const own = schemas[0].fields[first];
  if (second) {
    const target = schemas[1];
    const inner = conditionFilter([target], { ...c, path: [second] });
    return inner && { [own.relation]: inner };
  }
  if (!own) return null;
  let ops;
  if (c.op === "isNull") ops = { isNull: true };
  else if (c.op === "notNull") ops = { isNull: false };
  else if (c.op === "relative") ops = { relative: RELATIVE[c.value] || RELATIVE.today };
  else if (c.value === "" || c.value === null || c.value === undefined) return null;
  else if (c.op === "containsAny") ops = { containsAny: [c.value] };
  else ops = { [c.op]: own.display === "boolean" ? c.value === "true" : c.value };
  if (own.display === "currency" && !["isNull", "notNull"].includes(c.op)) ops = { amount: ops };
  return { [own.api]: ops };
}

export function filterOf(schemas, group) {
  const items = [];
  for (const item of group.items) {
    const f = item.items ? filterOf(schemas, item) : conditionFilter([schemas[0], schemas[1] && schemas[1][item.path[0]]], item);
    if (f && Object.keys(f).length) items.push(f);
  }
  if (!items.length) return null;
  if (items.length === 1) return items[0];
  return group.any ? { or: items } : { and: items };
}

// AND/OR groups of conditions, on the object's fields and its lookups' fields.
export const FilterBuilder = defineComponent({
  name: "FilterBuilder",
  props: { schema: Object, group: Object, related: Object, depth: { type: Number, default: 0 } },
  setup(props) {
    const fields = computed(() => Object.values(props.schema.fields).filter((f) => f.api && !["json", "attachment", "geolocation"].includes(f.display)));
    const lookups = computed(() => fields.value.filter((f) => f.relation && f.target));
    // Fields of the records the lookups name, for conditions through a relation.
    for (const l of lookups.value.slice(0, 6)) {
      if (!props.related[l.name]) schemaOf(l.target).then((s) => (props.related[l.name] = s)).catch(() => null);
    }
    function fieldOf(c) {
      if (c.path[1]) return props.related[c.path[0]] && props.related[c.path[0]].fields[c.path[1]];
      return props.schema.fields[c.path[0]];
    }
    function ops(c) {
      return OPS[family(fieldOf(c))];
    }
    function add() {
      const first = fields.value[0];
      const op = ops({ path: [first.name] })[0];
      props.group.items.push({ path: [first.name], op, value: op === "relative" ? "this_month" : "" });
    }
    function addGroup() {
      props.group.items.push({ any: true, items: [] });
    }
    async function choose(c, raw) {
      const [a, b] = raw.split(".");
      c.path = b ? [a, b] : [a];
      if (b && !props.related[a]) props.related[a] = await schemaOf(props.schema.fields[a].target);
      c.op = ops(c)[0];
      c.value = c.op === "relative" ? "this_month" : "";
    }
    return { fields, lookups, fieldOf, ops, add, addGroup, choose, t, family, RELATIVE: Object.keys(RELATIVE) };
  },
  template: `<div class="group" :class="{nested: depth}">
    <div class="group-head"><select v-model="group.any"><option :value="false">{{ t('list.match_all') }}</option><option :value="true">{{ t('list.match_any') }}</option></select></div>
    <div v-for="(c, i) in group.items" :key="i" class="condition">
      <FilterBuilder v-if="c.items" :schema="schema" :group="c" :related="related" :depth="depth + 1"/>
      <template v-else>
        <select :value="c.path.join('.')" @change="choose(c, $event.target.value)" aria-label="field">
          <option v-for="f in fields" :key="f.name" :value="f.name">{{ f.label }}</option>
          <template v-for="l in lookups" :key="'r' + l.name">
            <optgroup v-if="related[l.name]" :label="l.label">
              <option v-for="g in Object.values(related[l.name].fields).filter((x) => x.api && !x.relation)" :key="g.name" :value="l.name + '.' + g.name">{{ l.label }} › {{ g.label }}</option>
            </optgroup>
          </template>
        </select>
        <select v-model="c.op" aria-label="operator"><option v-for="o in ops(c)" :key="o" :value="o">{{ t('op.' + (o === 'containsAny' ? 'contains' : o)) }}</option></select>
        <template v-if="!['isNull', 'notNull'].includes(c.op)">
          <select v-if="c.op === 'relative'" v-model="c.value" aria-label="period"><option v-for="r in RELATIVE" :key="r" :value="r">{{ t('rel.' + r) }}</option></select>
          <select v-else-if="family(fieldOf(c)) === 'choice' || family(fieldOf(c)) === 'multi'" v-model="c.value" aria-label="value"><option v-for="v in fieldOf(c).values" :key="v.value" :value="v.value">{{ v.label }}</option></select>
          <select v-else-if="family(fieldOf(c)) === 'bool'" v-model="c.value"><option value="true">{{ t('yes') }}</option><option value="false">{{ t('no') }}</option></select>
          <input v-else v-model="c.value" :type="family(fieldOf(c)) === 'number' ? 'number' : family(fieldOf(c)) === 'date' ? 'date' : 'text'" aria-label="value">
        </template>
        <button type="button" class="link" @click="group.items.splice(i, 1)" aria-label="remove">×</button>
      </template>
    </div>
    <div class="group-actions"><button type="button" @click="add">+ {{ t('list.add_condition') }}</button>
      <button v-if="depth < 2" type="button" @click="addGroup">+ {{ t('list.add_group') }}</button></div>
  </div>`,
});
