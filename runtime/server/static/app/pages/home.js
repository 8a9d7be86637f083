// Home: my tasks, my approvals, notifications, recent records, and a chart of the
// first kanban of the current app (ECharts, loaded only here, only when there is one).
import { defineComponent, reactive, ref, onMounted, onBeforeUnmount, nextTick } from "vue";
import { store, t, schemaOf } from "../store.js";
import { go, recordPath } from "../components.js";
import { money, localized } from "../format.js";

export default defineComponent({
  setup() {
    const state = reactive({ tasks: [], approvals: [], notifications: [], chart: null, error: "" });
    const chartBox = ref(null);

    async function load() {
      const me = await store.client.meta("{ members { id email } }").catch(() => ({ members: [] }));
      const session = JSON.parse(localStorage.getItem("tessera:app:" + store.tenant) || "{}");
      const mine = me.members.find((m) => m.email === session.email);
      const queries = ["approvalsInbox { id approval { id label objectName recordId stepName submittedAt } }", "notifications(first: 10) { id message objectName recordId createdAt readAt }"];
      const task = (store.shell.objects || []).find((o) => o.name === "task");
      if (task && mine) queries.push(`tasks(first: 10, filter: {owner: {eq: "${mine.id}"}, status: {neq: "done"}}, orderBy: [{dueDate: ASC}]) { nodes { id subject dueDate status } }`);
      try {
        const data = await store.client.data(`{ ${queries.join(" ")} }`);
        state.approvals = data.approvalsInbox || [];
        state.notifications = data.notifications || [];
        state.tasks = (data.tasks && data.tasks.nodes) || [];
      } catch (e) {
        try {
          const data = await store.client.data(`{ ${queries.slice(0, 2).join(" ")} }`);
          state.approvals = data.approvalsInbox || [];
          state.notifications = data.notifications || [];
        } catch (inner) {
          state.error = inner.message;
        }
      }
      drawChart();
    }

    // The funnel of the current app's first kanban with a currency total.
    async function drawChart() {
      const app = (store.shell.apps || []).find((a) => a.name === store.app);
      const item = app && app.items.find((i) => i.kanban);
      if (!item) return;
      const schema = await schemaOf(item.object);
      const board = schema.kanbans.find((k) => k.field === item.kanban);
      if (!board) return;
      const sum = board.sumApi ? ` sum { ${board.sumApi} }` : "";
      const data = await store.client.data(`{ ${schema.list}Aggregate(groupBy: [{field: ${board.api}}]) { key { ${board.api} } count${sum} } }`);
      const groups = data[schema.list + "Aggregate"];
      const rows = board.columns.map((c) => {
        const g = groups.find((x) => x.key[board.api] === c.value) || { count: 0 };
        const v = g.sum && g.sum[board.sumApi];
        return { name: c.label, count: g.count, amount: v == null ? 0 : Number(typeof v === "object" ? v.amount : v) };
      });
      state.chart = { title: item.label, rows };
      await nextTick();
      if (!chartBox.value) return;
      const echarts = await import("echarts");
      // The person may have left the page while the library loaded.
      if (gone || !chartBox.value) return;
      chart = echarts.init(chartBox.value, null, { renderer: "svg" });
      chart.setOption({
        tooltip: { formatter: (p) => `${p.name}: ${p.value} · ${money(rows[p.dataIndex].amount, board.currency)}` },
        grid: { left: 8, right: 8, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value" },
        yAxis: { type: "category", inverse: true, data: rows.map((r) => r.name) },
        series: [{ type: "bar", data: rows.map((r) => r.count), itemStyle: { color: "#1f6feb" } }],
      });
      window.addEventListener("resize", resize);
    }

    let chart = null;
    let gone = false;
    const resize = () => chart && chart.resize();
    onBeforeUnmount(() => {
      gone = true;
      window.removeEventListener("resize", resize);
      if (chart) chart.dispose();
    });

    async function markRead() {
      const ids = state.notifications.filter((n) => !n.readAt).map((n) => n.id);
      if (!ids.length) return;
      await store.client.data("mutation R($ids: [ID!]!) { markNotificationsRead(ids: $ids) }", { ids });
      const now = new Date().toISOString();
      for (const n of state.notifications) n.readAt = n.readAt || now;
    }

    onMounted(() => load().catch((e) => (state.error = e.message)));
    return { state, chartBox, store, t, go, recordPath, localized, markRead };
  },
  template: `<section class="home">
    <h1>{{ t('nav.home') }}</h1>
    <p v-if="state.error" class="error">{{ state.error }}</p>
    <div class="cards">
      <section class="panel"><h2>{{ t('home.tasks') }}</h2>
        <ul class="plain"><li v-for="task in state.tasks" :key="task.id"><a :href="recordPath('task', task.id)" @click.prevent="go(recordPath('task', task.id))">{{ task.subject }}</a> <span class="muted small">{{ task.dueDate }}</span></li>
          <li v-if="!state.tasks.length" class="muted">{{ t('home.nothing') }}</li></ul></section>
      <section class="panel"><h2>{{ t('home.approvals') }} <span class="badge" v-if="state.approvals.length">{{ state.approvals.length }}</span></h2>
        <ul class="plain"><li v-for="a in state.approvals" :key="a.id"><a :href="recordPath(a.approval.objectName, a.approval.recordId)" @click.prevent="go(recordPath(a.approval.objectName, a.approval.recordId))">{{ localized(a.approval.label) }}</a> <span class="muted small">{{ a.approval.stepName }}</span></li>
          <li v-if="!state.approvals.length" class="muted">{{ t('home.nothing') }}</li></ul>
        <a v-if="state.approvals.length" :href="'/app/' + store.tenant + '/inbox'" @click.prevent="go('/app/' + store.tenant + '/inbox')">{{ t('nav.inbox') }} →</a></section>
      <section class="panel"><h2>{{ t('home.notifications') }}
        <button v-if="state.notifications.some((n) => !n.readAt)" type="button" class="link small" @click="markRead">{{ t('home.mark_read') }}</button></h2>
        <ul class="plain"><li v-for="n in state.notifications" :key="n.id" :class="{unread: !n.readAt}">
          <a v-if="n.recordId && n.objectName" :href="recordPath(n.objectName, n.recordId)" @click.prevent="go(recordPath(n.objectName, n.recordId))">{{ localized(n.message) }}</a><span v-else>{{ localized(n.message) }}</span></li>
          <li v-if="!state.notifications.length" class="muted">{{ t('home.nothing') }}</li></ul></section>
      <section class="panel"><h2>{{ t('home.recent') }}</h2>
        <ul class="plain"><li v-for="r in store.recent" :key="r.id"><a :href="recordPath(r.object, r.id)" @click.prevent="go(recordPath(r.object, r.id))">{{ r.title }}</a></li>
          <li v-if="!store.recent.length" class="muted">{{ t('home.nothing') }}</li></ul></section>
      <section v-if="state.chart" class="panel wide"><h2>{{ state.chart.title }}</h2><div ref="chartBox" class="chart" data-testid="chart"></div></section>
    </div>
  </section>`,
});
